"""The Customers page: customers ranked by theft score, why one ranks high, and inspections.

The list comes from a stored run and model: the test customers it scored (honest, never seen
in training), or every customer of the open data set or of a newly imported file once scored
with that model (:func:`core.scoring.score`, in the TensorFlow lane). Customers the model's
recipe cannot prepare are listed apart, with the reason.

Selecting a customer draws its readings against the normal customers; outcomes recorded here
go to the project (:meth:`core.project.Project.record_inspection`) and become labels for the
next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.dataset import UNKNOWN, ConsumptionData
from core.project import OUTCOME_TEXT, OUTCOMES
from core.tasks import TaskState, ensure_state
from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.runs import MODEL_LABELS
from etd_desktop.widgets.customer_plot import CustomerPlot, CustomerReference, CustomerView
from etd_desktop.widgets.ranked_table import LABEL_TEXT, CustomerFilter, RankedTableModel
from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

SOURCE_TEST = "test customers of the run"
SOURCE_ALL = "all customers of the open data set"
SOURCE_FILE = "an imported file"


def score_with_stored_model(book_loader, data: ConsumptionData, state: TaskState | None = None):
    """Load a stored model (``book_loader()``) and score ``data``; runs in the TF lane."""
    from core.scoring import score

    state = ensure_state(state)
    state.set_status("loading the stored model")
    artifact = book_loader()
    state.check()
    return score(artifact, data, state=state)


class CustomersPage(StatefulPage):
    title = "Customers"
    list_changed = Signal()

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "No ranked customers yet",
            "Train a model on the Train page: its test customers are ranked here by theft "
            "score. A stored model can then score every customer, or next month's readings.",
            "Go to the Train page",
        )
        super().__init__(workspace, empty, parent, goes_to="train")
        self.book = workspace.runs
        self.frame: pd.DataFrame | None = None  # the ranked list shown
        self.list_data: ConsumptionData | None = None  # readings behind the list
        self.source = SOURCE_TEST
        self.reference: CustomerReference | None = None
        self._reference_of = None
        self._cleaned_index: dict[str, int] = {}
        self._row_of: dict[str, int] = {}
        self._stale = True
        self.scoring_task = None
        self._build()
        self.book.changed.connect(self._book_changed)
        workspace.project_changed.connect(self._book_changed)
        workspace.data_changed.connect(self._book_changed)
        self.refresh()

    # building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_combo = QComboBox()
        self.model_combo = QComboBox()
        self.run_combo.currentIndexChanged.connect(self._run_chosen)
        self.model_combo.currentIndexChanged.connect(lambda _: self.load_list())
        self.score_all_button = QPushButton("Score all customers")
        self.score_all_button.setToolTip(
            "Score every customer of the open data set with this model. Customers it trained "
            "on get optimistic scores; the test customers' scores are the honest ones."
        )
        self.score_file_button = QPushButton("Score a new data set...")
        self.score_file_button.setToolTip(
            "Import a file (for example next month's readings) "
            "and rank its customers with this model"
        )
        self.export_button = QPushButton("Export list (CSV)...")
        self.export_button.setToolTip("The list as shown (filtered and sorted) for the field team")
        self.score_all_button.clicked.connect(self.score_open_data)
        self.score_file_button.clicked.connect(self._score_file_dialog)
        self.export_button.clicked.connect(self._export_dialog)
        top = QHBoxLayout()
        top.addWidget(QLabel("Run"))
        top.addWidget(self.run_combo, 2)
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model_combo, 1)
        top.addWidget(self.score_all_button)
        top.addWidget(self.score_file_button)
        top.addWidget(self.export_button)
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)

        # filters
        self.search = QLineEdit()
        self.search.setPlaceholderText("search customer id")
        self.search.setClearButtonEnabled(True)
        self.score_min = _score_spin(0.0)
        self.score_max = _score_spin(1.0)
        self.label_filter = QComboBox()
        self.label_filter.addItems(["any label", "theft", "normal", "unknown"])
        self.outcome_filter = QComboBox()
        self.outcome_filter.addItem("any inspection", None)
        self.outcome_filter.addItem("none recorded", "")
        for key in OUTCOMES:
            self.outcome_filter.addItem(OUTCOME_TEXT[key], key)
        self.flag_filter = QComboBox()
        self.flag_filter.addItems(["any prediction", "predicted theft", "predicted normal"])
        filters = QHBoxLayout()
        filters.addWidget(QLabel("score"))
        filters.addWidget(self.score_min)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.score_max)
        for combo in (self.label_filter, self.outcome_filter, self.flag_filter):
            filters.addWidget(combo)
        self.search.textChanged.connect(self.apply_filter)
        self.score_min.valueChanged.connect(self.apply_filter)
        self.score_max.valueChanged.connect(self.apply_filter)
        for combo in (self.label_filter, self.outcome_filter, self.flag_filter):
            combo.currentIndexChanged.connect(self.apply_filter)

        self.model = RankedTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((56, 262, 76, 70, 68, 56, 66, 100)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.count_label = QLabel()

        self.unscorable = QTableWidget(0, 2)
        self.unscorable.setHorizontalHeaderLabels(["customer", "why it cannot be scored"])
        self.unscorable.horizontalHeader().setStretchLastSection(True)
        self.unscorable.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.unscorable.setMaximumHeight(120)
        self.unscorable.setColumnWidth(0, 270)
        self.unscorable_label = QLabel()

        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        lcol.addWidget(self.search)
        lcol.addLayout(filters)
        lcol.addWidget(self.table, 1)
        lcol.addWidget(self.count_label)
        lcol.addWidget(self.unscorable_label)
        lcol.addWidget(self.unscorable)

        # right: the customer and the inspection form
        self.plot = CustomerPlot()
        inspection = QGroupBox("Inspection of the selected customer")
        form = QFormLayout(inspection)
        self.outcome_combo = QComboBox()
        for key in OUTCOMES:
            self.outcome_combo.addItem(OUTCOME_TEXT[key], key)
        self.outcome_combo.setCurrentIndex(OUTCOMES.index("confirmed_theft"))
        self.visit_date = QDateEdit()
        self.visit_date.setCalendarPopup(True)
        self.visit_date.setDate(dt.date.today())
        self.visit_date.setDisplayFormat("yyyy-MM-dd")
        self.note = QLineEdit()
        self.note.setPlaceholderText("what the inspector found (optional)")
        self.record_button = QPushButton("Record the outcome")
        self.record_button.clicked.connect(self.record_selected)
        self.inspection_status = QLabel()
        self.inspection_status.setWordWrap(True)
        form.addRow("outcome", self.outcome_combo)
        form.addRow("visited on", self.visit_date)
        form.addRow("note", self.note)
        form.addRow(self.record_button, self.inspection_status)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addWidget(self.plot, 1)
        rcol.addWidget(inspection)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([770, 630])
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(splitter, 1)

    # runs and lists ------------------------------------------------------------------------
    def _book_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def on_shown(self) -> None:
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        runs = self.book.runs()
        self.show_content(bool(runs))
        current = self.run_combo.currentData()
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for run in runs:
            self.run_combo.addItem(run["label"], run["id"])
        self.run_combo.blockSignals(False)
        if runs:
            ids = [run["id"] for run in runs]
            self.run_combo.setCurrentIndex(ids.index(current) if current in ids else len(ids) - 1)
            self._run_chosen()
        self.record_button.setEnabled(self.workspace.project is not None)
        if self.workspace.project is None:
            self.inspection_status.setText("Open or save a project to record outcomes.")

    def _run_chosen(self) -> None:
        run_id = self.run_combo.currentData()
        model = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        if run_id is not None:
            for run in self.book.runs():
                if run["id"] == run_id:
                    for name in run["models"]:
                        self.model_combo.addItem(MODEL_LABELS.get(name, name), name)
        names = [self.model_combo.itemData(i) for i in range(self.model_combo.count())]
        if model in names:
            self.model_combo.setCurrentIndex(names.index(model))
        self.model_combo.blockSignals(False)
        self.load_list()

    def chosen(self) -> tuple[int | None, str | None]:
        return self.run_combo.currentData(), self.model_combo.currentData()

    def load_list(self) -> None:
        """Show the stored ranking of the chosen run and model (its test customers)."""
        run_id, model = self.chosen()
        if run_id is None or model is None:
            return
        frame = self.book.scores(run_id, model)
        leaking = any(r["leaking"] for r in self.book.runs() if r["id"] == run_id)
        note = (
            " This run LEAKS (paper protocol): its scores are not a fair test." if leaking else ""
        )
        self.set_list(
            frame,
            self.workspace.data,
            SOURCE_TEST,
            f"Test customers of {self.book.run_label(run_id)}, scored by "
            f"{MODEL_LABELS.get(model, model)}: held out from training, so these "
            f"scores are honest.{note}",
        )

    def set_list(
        self, frame: pd.DataFrame, data: ConsumptionData | None, source: str, text: str
    ) -> None:
        """Show ``frame`` (core.scoring columns) whose readings are in ``data``."""
        self.frame = frame.reset_index(drop=True)
        self.list_data = data
        self.source = source
        self.source_label.setText(text)
        ids = self.frame["customer"].astype(str).to_numpy()
        rows = self._data_rows(ids, data)
        known = rows >= 0
        labels = np.full(len(ids), UNKNOWN, dtype=np.int8)
        missing = np.full(len(ids), np.nan)
        if data is not None:
            labels[known] = data.labels[rows[known]]
            missing[known] = self._missing_share(data)[rows[known]]
        if "label" in self.frame.columns:
            given = pd.to_numeric(self.frame["label"], errors="coerce").to_numpy()
            labels = np.where(np.isfinite(given), given, labels).astype(np.int8)
        outcomes = self._outcomes(ids)
        rank = self.frame["rank"].astype("Float64").fillna(0).to_numpy(dtype=np.int64)
        self.model.set_columns(
            {
                "customer": ids,
                "rank": rank,
                "score": self.frame["score"].to_numpy(dtype=float),
                "percentile": self.frame["percentile"].to_numpy(dtype=float),
                "flag": self.frame["flag"].fillna(False).to_numpy(dtype=bool),
                "label": labels,
                "missing": missing,
                "outcome": outcomes,
            }
        )
        self._n_ranked = int((rank > 0).sum())
        self._fill_unscorable()
        self._prepare_plot(data)
        self.apply_filter()
        if self.model.rowCount():
            self.select_row(0)
        self.list_changed.emit()

    def _data_rows(self, ids: np.ndarray, data: ConsumptionData | None) -> np.ndarray:
        if data is None:
            return np.full(len(ids), -1)
        index = pd.Index(np.asarray(data.customer_ids).astype(str))
        return index.get_indexer(ids)

    def _missing_share(self, data: ConsumptionData) -> np.ndarray:
        cached = getattr(self, "_missing_cache", None)
        if cached is not None and cached[0] is data:
            return cached[1]
        share = np.isnan(data.kwh).mean(axis=1)
        self._missing_cache = (data, share)
        return share

    def _outcomes(self, ids: np.ndarray) -> np.ndarray:
        out = np.full(len(ids), "", dtype=object)
        project = self.workspace.project
        if project is None:
            return out
        found = project.inspections()
        if len(found):
            by_id = dict(
                zip(found["customer"].astype(str), found["outcome"].astype(str), strict=True)
            )
            out = np.array([by_id.get(c, "") for c in ids], dtype=object)
        return out

    def _fill_unscorable(self) -> None:
        frame = self.frame
        bad = frame[~frame["scorable"].astype(bool)]
        self.unscorable.setRowCount(len(bad))
        for r, (customer, reason) in enumerate(zip(bad["customer"], bad["reason"], strict=True)):
            self.unscorable.setItem(r, 0, QTableWidgetItem(str(customer)))
            self.unscorable.setItem(r, 1, QTableWidgetItem(str(reason)))
        self.unscorable_label.setText(
            f"{len(bad):,} customer{'s' if len(bad) != 1 else ''} cannot be scored:"
            if len(bad)
            else "Every customer in the list could be scored."
        )
        self.unscorable.setVisible(bool(len(bad)))

    # filter ---------------------------------------------------------------------------------
    def current_filter(self) -> CustomerFilter:
        label = {1: 1, 2: 0, 3: -1}.get(self.label_filter.currentIndex())
        flagged = {1: True, 2: False}.get(self.flag_filter.currentIndex())
        low, high = self.score_min.value(), self.score_max.value()
        return CustomerFilter(
            text=self.search.text(),
            score_min=low if low > 0 else None,
            score_max=high if high < 1 else None,
            label=label,
            outcome=self.outcome_filter.currentData(),
            flagged=flagged,
        )

    def apply_filter(self) -> None:
        selected = self.selected_customer()
        self.model.set_filter(self.current_filter())
        shown, total = self.model.rowCount(), self.model.n_total
        text = f"{shown:,} of {total:,} customers shown"
        unranked = total - getattr(self, "_n_ranked", total)
        if unranked > 0:  # they sit at the end without a score: say why the ranks stop early
            text += f" ({total - unranked:,} ranked; {unranked:,} cannot be scored, see below)"
        self.count_label.setText(text)
        if selected is not None:
            row = self.model.shown_row_of(selected)
            if row is not None:
                self.select_row(row)

    # the selected customer ------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def selected_customer(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or index.row() >= self.model.rowCount():
            return None
        return self.model.customer_at(index.row())

    def _prepare_plot(self, data: ConsumptionData | None) -> None:
        """The per-data-set reference (normal mean and band), computed once per data set."""
        if data is None or self._reference_of is data:
            return
        self.reference = CustomerReference.of(data)
        self._reference_of = data
        self.plot.set_reference(self.reference)
        self._row_of = {c: i for i, c in enumerate(np.asarray(data.customer_ids).astype(str))}
        cleaned = self.workspace.cleaned
        self._cleaned_index = {}
        if (
            cleaned is not None
            and cleaned.data.n_days == data.n_days
            and data is self.workspace.data
        ):
            ids = np.asarray(cleaned.data.customer_ids).astype(str)
            self._cleaned_index = {c: i for i, c in enumerate(ids)}

    def _row_changed(self, current, previous=None) -> None:
        if current.isValid() and current.row() < self.model.rowCount():
            self.show_customer(self.model.customer_at(current.row()))

    def show_customer(self, customer: str) -> float | None:
        """Draw ``customer``; returns the redraw milliseconds (None if it has no readings)."""
        data = self.list_data
        row = self._row_of.get(customer)
        if data is None or row is None or self.reference is None:
            self.plot.heading.setText(f"{customer}: no readings in the open data set")
            return None
        view = CustomerView(customer=customer, raw=data.kwh[row])
        c = self._cleaned_index.get(customer)
        cleaned = self.workspace.cleaned
        if c is not None:
            view.cleaned = cleaned.data.kwh[c]
            prepared = cleaned.prepared
            if prepared is not None:
                view.imputed = np.asarray(prepared.imputed_mask[c], dtype=bool)
                view.outliers = np.asarray(prepared.outlier_mask[c], dtype=bool)
            else:  # read back from a project: what changed tells what was done
                raw = view.raw
                view.imputed = (
                    (~np.isfinite(raw) | (raw == 0))
                    & np.isfinite(view.cleaned)
                    & (view.cleaned != 0)
                )
                view.outliers = np.isfinite(raw) & (raw != 0) & ~np.isclose(raw, view.cleaned)
        shown = self.model.shown_row_of(customer)
        if shown is not None:
            data_row = self.model.data_row(shown)
            cols = self.model.columns
            view.score = float(cols["score"][data_row])
            view.rank = int(cols["rank"][data_row]) or None
            view.label = LABEL_TEXT.get(int(cols["label"][data_row]), "")
        view.n_ranked = getattr(self, "_n_ranked", 0)
        self.note.clear()
        return self.plot.show_customer(view)

    # inspections ----------------------------------------------------------------------------
    def record_selected(self) -> bool:
        customer = self.selected_customer()
        project = self.workspace.project
        if customer is None or project is None:
            return False
        outcome = self.outcome_combo.currentData()
        day = self.visit_date.date().toPython()
        try:
            project.record_inspection(customer, outcome, date=day, note=self.note.text())
        except Exception as exc:  # noqa: BLE001 - shown to the user, the list stays usable
            self.workspace.failed.emit("Cannot record the inspection", exc, "")
            return False
        self.model.set_outcome(customer, outcome)
        self.inspection_status.setText(f"Recorded: {customer} {OUTCOME_TEXT[outcome]} on {day}.")
        return True

    # export ---------------------------------------------------------------------------------
    def shown_frame(self) -> pd.DataFrame:
        """The list as shown (filtered, sorted) with the columns the field team reads."""
        cols, rows = self.model.columns, self.model.rows
        return pd.DataFrame(
            {
                "rank": np.where(cols["rank"][rows] > 0, cols["rank"][rows], 0),
                "customer": cols["customer"][rows],
                "score": np.round(cols["score"][rows].astype(float), 6),
                "percentile": np.round(cols["percentile"][rows].astype(float), 2),
                "predicted_theft": cols["flag"][rows].astype(bool),
                "label": [LABEL_TEXT.get(int(v), "") for v in cols["label"][rows]],
                "missing_share": np.round(cols["missing"][rows].astype(float), 4),
                "inspection": [OUTCOME_TEXT.get(str(v), "") for v in cols["outcome"][rows]],
            }
        )

    def export_csv(self, path: str | Path) -> Path:
        path = Path(path)
        frame = self.shown_frame()
        frame["rank"] = frame["rank"].replace(0, pd.NA)
        frame.to_csv(path, index=False)
        log.info("exported %d customers to %s", len(frame), path)
        return path

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the list", "inspection_list.csv", "CSV file (*.csv)"
        )
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                self.workspace.failed.emit("Cannot write the list", exc, "")

    # scoring ---------------------------------------------------------------------------------
    def score_open_data(self):
        if self.workspace.data is None:
            return None
        return self.score_data(
            self.workspace.data,
            SOURCE_ALL,
            f"all {self.workspace.data.n_customers:,} customers of {self.workspace.data_name}",
        )

    def score_data(self, data: ConsumptionData, source: str, what: str):
        run_id, model = self.chosen()
        if run_id is None or model is None:
            return None
        loader = _Loader(self.book, run_id, model)
        task = self.workspace.tensorflow.run(
            f"Scoring {what}", score_with_stored_model, loader, data
        )
        self.source_label.setText(f"Scoring {what} with {MODEL_LABELS.get(model, model)}...")
        model_label = MODEL_LABELS.get(model, model)

        def done(frame):
            honest = (
                " Customers the model trained on score optimistically."
                if source == SOURCE_ALL
                else ""
            )
            self.set_list(
                frame,
                data,
                source,
                f"Scored by {model_label} of {self.book.run_label(run_id)}: {what}.{honest}",
            )

        task.finished.connect(done)
        task.failed.connect(
            lambda exc, details: self.workspace.failed.emit("Cannot score the data", exc, details)
        )
        self.scoring_task = task
        return task

    def score_file(self, path: str | Path):
        from core.io import read_dataset

        path = Path(path)
        task = self.workspace.tasks.run(f"Reading {path.name}", read_dataset, path)
        task.finished.connect(lambda data: self.score_data(data, SOURCE_FILE, f"{path.name}"))
        task.failed.connect(
            lambda exc, details: self.workspace.failed.emit("Cannot read the file", exc, details)
        )
        self.scoring_task = task
        return task

    def _score_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Score a new data set",
            "",
            "Data files (*.csv *.tsv *.txt *.xlsx *.xlsm *.parquet *.pq);;All files (*)",
        )
        if path:
            self.score_file(path)

    def prepare_screenshot(self, step: str = "") -> None:
        from etd_desktop.pages.evaluate import make_screenshot_run

        make_screenshot_run(
            self.workspace, protocols=("honest",), model_params={"gbm": {"max_iter": 60}}
        )
        self.refresh()
        if self.model.rowCount() > 3:
            self.select_row(2)


class _Loader:
    """Loads one stored model when called (in the worker thread)."""

    def __init__(self, book, run_id: int, model: str):
        self.book, self.run_id, self.model = book, run_id, model

    def __call__(self):
        return self.book.load_artifact(self.run_id, self.model)


def _score_spin(value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, 1.0)
    spin.setDecimals(3)
    spin.setSingleStep(0.05)
    spin.setValue(value)
    return spin
