"""The Evaluate page: the honest comparison of every stored model, and the inspection budget.

Rows are per model and per run, so an honest run and a paper-protocol run of the same data sit
side by side; paper rows are tinted and say "leaking". The budget control turns "we can visit
N customers" (or a threshold) into expected hits, precision, recall and a confusion matrix,
from the test scores stored with the run (:func:`budget_figures`, no retraining).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.evaluation import ranking
from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.report import Report, panel_image
from etd_desktop.runs import MODEL_LABELS
from etd_desktop.widgets.metric_plots import (
    ConfusionGrid,
    ResultEntry,
    confusion_table,
    draw_histories,
    draw_roc_pr,
    set_confusion,
)
from etd_desktop.widgets.plots import ChartPanel, pen
from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

LISTING_ROWS = 12  # a report dict longer than this is a per-customer listing, not figures

LEAK_BACKGROUND = QColor(232, 97, 60, 55)

# (header, metrics key, sub-key) of the comparison table, in the reference method's order
COLUMNS = [
    ("accuracy", "accuracy", None),
    ("loss", "loss", None),
    ("precision", "precision", None),
    ("recall", "recall", None),
    ("F1", "f1", None),
    ("kappa", "kappa", None),
    ("ROC-AUC", "roc_auc", None),
    ("ROC-AUC 95% CI", "roc_auc_ci", None),
    ("PR-AUC (AP)", "pr_auc", None),
    ("PR-AUC 95% CI", "pr_auc_ci", None),
    ("P@100", "precision_at_k", "100"),
    ("R@100", "recall_at_k", "100"),
    ("P@1%", "precision_at_k", "1%"),
    ("R@1%", "recall_at_k", "1%"),
    ("MAP@100", "map_at_100", None),
    ("MAP@200", "map_at_200", None),
    ("base rate", "base_rate", None),
    ("threshold", "threshold", None),
    ("test customers", "n", None),
]
RESULTS_SPLIT = 10  # the report's first results table ends after the PR-AUC interval


def budget_figures(labels, scores, *, visits: int | None = None, threshold: float | None = None):
    """What an inspection list of the top ``visits`` customers (or all at or above
    ``threshold``) finds among customers with known ``labels`` (0/1) and theft ``scores``.

    Ranking ties keep the input order (as :func:`core.evaluation.ranking`). Returns visits,
    hits, false_alarms, missed, true_negatives, precision, recall (None when undefined),
    base_rate, random_hits (what a random list of the same size finds on average),
    confusion [[tn, fp], [fn, tp]].
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    flagged = np.zeros(len(y), dtype=bool)
    if visits is not None:
        flagged[ranking(s)[: max(0, int(visits))]] = True
    else:
        flagged = s >= float(threshold)
    n_theft = int(y.sum())
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    fn = n_theft - tp
    tn = len(y) - n_theft - fp
    n_flagged = tp + fp
    base = n_theft / len(y) if len(y) else None
    return {
        "visits": n_flagged,
        "hits": tp,
        "false_alarms": fp,
        "missed": fn,
        "true_negatives": tn,
        "precision": tp / n_flagged if n_flagged else None,
        "recall": tp / n_theft if n_theft else None,
        "base_rate": base,
        "random_hits": n_flagged * base if base is not None else None,
        "confusion": [[tn, fp], [fn, tp]],
    }


def _cell_text(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return "-" if None in value else f"{value[0]:.3f}-{value[1]:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.3f}"


def _k_cell(metrics: dict, key: str, sub: str | None) -> str:
    """The cell text; a top-k figure says its k when the test set is smaller than k."""
    text = _cell_text(metric_value(metrics, key, sub))
    k = (metrics.get("k_used") or {}).get(sub) if sub else None
    if sub and sub.isdigit() and k is not None and int(k) < int(sub):
        text += f" (k={int(k)})"
    return text


def metric_value(metrics: dict, key: str, sub: str | None):
    value = metrics.get(key)
    if sub is not None:
        value = (value or {}).get(sub)
    return value


class BudgetPanel(QWidget):
    """ "We can visit N customers": hits, precision, recall and the confusion matrix, live."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[ResultEntry] = []
        self.labels = np.empty(0, dtype=np.int64)
        self.scores = np.empty(0)
        self.model_combo = QComboBox()
        self.visits_button = QRadioButton("We can visit")
        self.visits_button.setChecked(True)
        self.visits = QSpinBox()
        self.visits.setRange(0, 10_000_000)
        self.visits.setValue(100)
        self.visits.setSuffix(" customers (the top of the ranking)")
        self.threshold_button = QRadioButton("Flag scores at or above")
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(4)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(0.5)
        self.figures = QLabel()
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setWordWrap(True)
        self.matrix = confusion_table([[0, 0], [0, 0]])
        self.chart = ChartPanel(clip=False, log_toggle=False)
        self.chart.clip_box.setVisible(False)
        self.plot = self.chart.add_plot(0, 0, "Precision and recall by list length", clip=False)
        self.plot.setLabel("bottom", "customers visited (top of the ranking)")
        self.precision_curve = self.plot.plot(pen=pen("#3a86d4", 2), name="precision")
        self.recall_curve = self.plot.plot(pen=pen("#e8613c", 2), name="recall")
        self.base_curve = self.plot.plot(
            pen=pen("#8a8a8a", 1.2, Qt.PenStyle.DotLine), name="base rate (random list)"
        )
        self.marker = pg.InfiniteLine(angle=90, pen=pen("#c9a227", 1.5, Qt.PenStyle.DashLine))
        self.plot.addItem(self.marker)
        self.plot.setYRange(0, 1.02)

        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        row1 = QHBoxLayout()
        row1.addWidget(self.visits_button)
        row1.addWidget(self.visits, 1)
        row2 = QHBoxLayout()
        row2.addWidget(self.threshold_button)
        row2.addWidget(self.threshold, 1)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addLayout(row1)
        left.addLayout(row2)
        left.addWidget(self.figures)
        left.addWidget(QLabel("Confusion matrix of this list (test customers):"))
        left.addWidget(self.matrix)
        left.addStretch(1)
        box = QWidget()
        box.setLayout(left)
        box.setMaximumWidth(460)
        layout = QHBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(self.chart, 1)

        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.visits.valueChanged.connect(self.update_figures)
        self.threshold.valueChanged.connect(self.update_figures)
        self.visits_button.toggled.connect(self.update_figures)

    def set_entries(self, entries: list[ResultEntry]) -> None:
        self.entries = [e for e in entries if len(e.test_arrays()[0])]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for entry in self.entries:
            self.model_combo.addItem(entry.name)
        self.model_combo.blockSignals(False)
        self._model_changed()

    def _model_changed(self) -> None:
        i = self.model_combo.currentIndex()
        if i < 0 or i >= len(self.entries):
            self.labels, self.scores = np.empty(0, dtype=np.int64), np.empty(0)
        else:
            entry = self.entries[i]
            self.labels, self.scores = entry.test_arrays()
            if entry.threshold is not None:
                self.threshold.blockSignals(True)
                self.threshold.setValue(float(entry.threshold))
                self.threshold.blockSignals(False)
        self._draw_curves()
        self.update_figures()

    def set_labels_and_scores(self, labels, scores) -> None:
        """Use these test labels and scores directly (tests, other callers)."""
        self.labels = np.asarray(labels, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float64)
        self._draw_curves()
        self.update_figures()

    def _draw_curves(self) -> None:
        n = len(self.labels)
        if not n:
            for item in (self.precision_curve, self.recall_curve, self.base_curve):
                item.setData([], [])
            return
        hits = np.cumsum(self.labels[ranking(self.scores)])
        k = np.arange(1, n + 1)
        total = max(1, int(self.labels.sum()))
        self.precision_curve.setData(k, hits / k)
        self.recall_curve.setData(k, hits / total)
        rate = self.labels.mean()
        self.base_curve.setData([1, n], [rate, rate])
        self.visits.setMaximum(n)
        if self.visits.value() in (0, n) or self.visits.value() > n:
            self.visits.setValue(min(100, max(1, n // 10)))  # a tenth: a typical month's visits

    def current(self) -> dict | None:
        if not len(self.labels):
            return None
        if self.visits_button.isChecked():
            return budget_figures(self.labels, self.scores, visits=self.visits.value())
        return budget_figures(self.labels, self.scores, threshold=self.threshold.value())

    def update_figures(self) -> None:
        figures = self.current()
        if figures is None:
            self.figures.setText("No stored test scores for this model.")
            set_confusion(self.matrix, [[0, 0], [0, 0]])
            return
        self.marker.setValue(figures["visits"])

        def pct(v):
            return "-" if v is None else f"{100 * v:.1f}%"

        n = len(self.labels)
        self.figures.setText(
            f"<p style='font-size:large'><b>{figures['hits']:,}</b> thieves found in "
            f"<b>{figures['visits']:,}</b> visits of {n:,} test customers</p>"
            f"precision <b>{pct(figures['precision'])}</b> (a random list: "
            f"{pct(figures['base_rate'])}, about {figures['random_hits']:.1f} thieves)<br>"
            f"recall <b>{pct(figures['recall'])}</b> of the {int(self.labels.sum()):,} thieves"
            f"<br>false alarms {figures['false_alarms']:,}, thieves missed {figures['missed']:,}"
        )
        set_confusion(self.matrix, figures["confusion"])


class EvaluatePage(StatefulPage):
    title = "Evaluate"
    refreshed = Signal()

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "No trained model yet",
            "Train one or more models on the Train page; their test results appear here, "
            "side by side, always next to the base rate.",
            "Go to the Train page",
        )
        super().__init__(workspace, empty, parent, goes_to="train")
        self.book = workspace.runs
        self.entries: list[ResultEntry] = []
        self._stale = True
        self._build()
        self.book.changed.connect(self._book_changed)
        self.refresh()

    def _build(self) -> None:
        self.run_list = QListWidget()
        self.run_list.setMaximumHeight(64)
        self.run_list.itemChanged.connect(lambda _: self._show_entries())
        self.html_button = QPushButton("Export report (HTML)...")
        self.pdf_button = QPushButton("Export report (PDF)...")
        self.html_button.clicked.connect(lambda: self._export_dialog("html"))
        self.pdf_button.clicked.connect(lambda: self._export_dialog("pdf"))
        top = QHBoxLayout()
        runs_col = QVBoxLayout()
        runs_col.addWidget(QLabel("<b>Runs shown</b> (tick to compare)"))
        runs_col.addWidget(self.run_list)
        top.addLayout(runs_col, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.html_button)
        buttons.addWidget(self.pdf_button)
        buttons.addStretch(1)
        top.addLayout(buttons)

        self.leak_note = QLabel()
        self.leak_note.setWordWrap(True)
        self.leak_note.setStyleSheet(
            "QLabel { background: #fde2dc; color: #7a1f0c; padding: 5px;"
            " border: 1px solid #e8613c; border-radius: 4px; }"
        )
        self.table = QTableWidget(0, len(COLUMNS) + 2)
        self.table.setHorizontalHeaderLabels(["model", "protocol"] + [c[0] for c in COLUMNS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        header_tips = {
            "PR-AUC (AP)": "Average precision (scikit-learn), not the trapezoid area",
            "P@100": "Share of thieves among the 100 highest scores",
            "R@100": "Share of all test thieves found in the 100 highest scores",
            "MAP@100": "Theft-only mean average precision over the top 100",
            "base rate": "Share of thieves among the test customers: a random list's precision",
        }
        for i, (name, _, _) in enumerate(COLUMNS, start=2):
            if name in header_tips:
                self.table.horizontalHeaderItem(i).setToolTip(header_tips[name])

        self.tabs = QTabWidget()
        self.curves_panel = ChartPanel(clip=False, log_toggle=False)
        self.curves_panel.clip_box.setVisible(False)
        self.history_panel = ChartPanel(clip=False, log_toggle=False)
        self.history_panel.clip_box.setVisible(False)
        self.confusions = ConfusionGrid()
        self.budget = BudgetPanel()
        self.tabs.addTab(self.budget, "Inspection budget")
        self.tabs.addTab(self.curves_panel, "ROC and PR curves")
        self.tabs.addTab(self.confusions, "Confusion matrices")
        self.tabs.addTab(self.history_panel, "Training histories")

        upper = QWidget()
        ucol = QVBoxLayout(upper)
        ucol.setContentsMargins(0, 0, 0, 0)
        ucol.addLayout(top)
        ucol.addWidget(self.leak_note)
        ucol.addWidget(self.table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.tabs)
        splitter.setSizes([380, 520])
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # data ----------------------------------------------------------------------------------
    def _book_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def on_shown(self) -> None:
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Read the runs again and redraw (when the page is shown after a change)."""
        self._stale = False
        runs = self.book.runs()
        self.show_content(bool(runs))
        ticked = {
            self.run_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.run_list.count())
            if self.run_list.item(i).checkState() == Qt.CheckState.Checked
        }
        known = {
            self.run_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.run_list.count())
        }
        self.run_list.blockSignals(True)
        self.run_list.clear()
        for run in runs:
            item = QListWidgetItem(f"{run['label']}  ({', '.join(run['models'])})")
            item.setData(Qt.ItemDataRole.UserRole, run["id"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = run["id"] in ticked or run["id"] not in known
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            if run["leaking"]:
                item.setBackground(QBrush(LEAK_BACKGROUND))
            self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        self._show_entries()

    def _selected_runs(self) -> list[int]:
        return [
            self.run_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.run_list.count())
            if self.run_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _load_entries(self, run_ids: list[int]) -> list[ResultEntry]:
        entries = []
        for run_id in run_ids:
            detail = self.book.detail(run_id)
            label = self.book.run_label(run_id)
            for model, result in detail["results"].items():
                metrics = result.get("metrics") or {}
                leaking = bool(metrics.get("leaking")) or str(detail.get("protocol")).startswith(
                    "paper"
                )
                entries.append(
                    ResultEntry(
                        run_id=run_id,
                        run_label=label,
                        model=model,
                        model_label=MODEL_LABELS.get(model, model),
                        leaking=leaking,
                        metrics=metrics,
                        history=result.get("history") or {},
                        curves=result.get("curves") or {},
                        threshold=result.get("threshold"),
                        stopped=bool(result.get("stopped")),
                    )
                )
        return entries

    def _show_entries(self) -> None:
        self.entries = self._load_entries(self._selected_runs())
        self._fill_table()
        draw_roc_pr(self.curves_panel, self.entries)
        draw_histories(self.history_panel, self.entries)
        self.confusions.show_entries(self.entries)
        self.budget.set_entries(self.entries)
        leaking = [e for e in self.entries if e.leaking]
        self.leak_note.setVisible(bool(leaking))
        self.leak_note.setText(
            "Tinted rows come from the paper protocol: it oversampled before splitting, so "
            "synthetic thieves made from test thieves were in training and synthetic thieves "
            "are in its test set. Their figures leak and are inflated; compare them with the "
            "honest rows."
        )
        self.refreshed.emit()

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.entries))
        for r, entry in enumerate(self.entries):
            stopped = " (stopped early)" if entry.stopped else ""
            cells = [
                f"{entry.model_label}{stopped}",
                f"run {abs(entry.run_id)}: " + ("PAPER, LEAKING" if entry.leaking else "honest"),
            ]
            cells += [_k_cell(entry.metrics, key, sub) for _, key, sub in COLUMNS]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if entry.leaking:
                    item.setBackground(QBrush(LEAK_BACKGROUND))
                    item.setToolTip("Leaking: figures inflated by oversampling before the split")
                self.table.setItem(r, c, item)

    def table_rows(self) -> list[list[str]]:
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    # report --------------------------------------------------------------------------------
    def build_report(self) -> Report:
        ws = self.workspace
        report = Report("Electricity-theft detection: evaluation report")
        report.heading("Protocol")
        protocols = {e.run_id: e.leaking for e in self.entries}
        for run_id, leaking in protocols.items():
            detail = self.book.detail(run_id)
            record = detail.get("record") or {}
            params = record.get("params") or {}
            text = (
                f"{self.book.run_label(run_id)}: models {', '.join(detail['results'])}; "
                f"split {params.get('split') or record.get('split')}, seed "
                f"{record.get('seed')}, up to {params.get('epochs')} epochs, patience "
                f"{params.get('patience')}, oversampling {params.get('balance')}."
            )
            report.paragraph(text)
            if leaking:
                report.paragraph(
                    "This run used the paper protocol: oversampling before the "
                    "split leaks synthetic copies of test thieves into training. "
                    "Its figures are inflated.",
                    warning=True,
                )
            else:
                report.paragraph(
                    "Honest protocol: customers split first (stratified); the "
                    "cleaning, the oversampler and the models fitted on training "
                    "customers only; threshold and epoch chosen on validation; "
                    "test customers scored once."
                )
        if ws.data is not None:
            report.heading("Data")
            summary = ws.data.summary()
            report.key_values(
                [(k, v) for k, v in summary.items() if isinstance(v, int | float | str)]
            )
        if ws.cleaned is not None:
            report.heading("Cleaning")
            for line in _recipe_lines(ws.cleaned.recipe):
                report.paragraph(line)
            report.key_values(_flat_pairs(ws.cleaned.report))
        report.heading("Test results")
        header = [
            self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())
        ]
        leaking_rows = {i for i, e in enumerate(self.entries) if e.leaking}
        rows = self.table_rows()
        # Over twenty columns in one table squeeze each to a few letters on a page: the
        # classification figures and the ranking figures go in two tables, each with the names.
        split = 2 + RESULTS_SPLIT
        base = header.index("base rate")  # next to precision and PR-AUC in both tables
        report.table(
            header[:split] + [header[base]], [r[:split] + [r[base]] for r in rows], leaking_rows
        )
        report.table(header[:2] + header[split:], [r[:2] + r[split:] for r in rows], leaking_rows)
        report.paragraph(
            "PR-AUC is average precision. Base rate: the share of thieves among the "
            "test customers, the precision of a random inspection list."
        )
        figures = self.budget.current()
        if figures is not None:
            report.heading("Inspection budget")
            report.key_values([(k, v) for k, v in figures.items() if k != "confusion"])
        report.heading("Curves")
        report.image("roc_pr.png", panel_image(self.curves_panel))
        report.image("histories.png", panel_image(self.history_panel))
        report.heading("Confusion matrices")
        for entry in self.entries:
            m = entry.metrics.get("confusion") or [[0, 0], [0, 0]]
            report.table(
                ["", "not flagged", "flagged"],
                [
                    [f"{entry.name}: normal", m[0][0], m[0][1]],
                    [f"{entry.name}: theft", m[1][0], m[1][1]],
                ],
            )
        return report

    def export_report(self, path: str | Path) -> Path:
        path = Path(path)
        report = self.build_report()
        if path.suffix.lower() == ".pdf":
            return report.write_pdf(path)
        return report.write_html(path)

    def _export_dialog(self, kind: str) -> None:
        filters = "HTML report (*.html)" if kind == "html" else "PDF report (*.pdf)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the report", f"report.{kind}", filters)
        if path:
            if not path.lower().endswith("." + kind):
                path += "." + kind
            try:
                self.export_report(path)
            except OSError as exc:
                self.workspace.failed.emit("Cannot write the report", exc, "")

    def prepare_screenshot(self, step: str = "") -> None:
        make_screenshot_run(self.workspace, model_params={"gbm": {"max_iter": 60}})
        self.refresh()
        if step in ("curves", "confusion", "histories"):
            self.tabs.setCurrentIndex({"curves": 1, "confusion": 2, "histories": 3}[step])


def _recipe_lines(recipe: dict | None) -> list[str]:
    """The cleaning recipe in the words of the Clean page (nothing when it cannot be read)."""
    from core.recipe import Recipe

    try:
        return Recipe.from_dict(recipe).describe() if recipe else []
    except (KeyError, TypeError, ValueError):
        return []


def _flat_pairs(report: dict, prefix: str = "") -> list[tuple[str, object]]:
    """The cleaning report as name/value rows; a per-customer listing (thousands of dropped
    customers) becomes one row with its count, so the figures stay readable."""
    pairs = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if name == "recipe":
            continue  # written out in words above the table
        if isinstance(value, dict) and len(value) > LISTING_ROWS:
            pairs.append((name, f"{len(value):,} customers (listed in the project, not here)"))
        elif isinstance(value, dict):
            pairs.extend(_flat_pairs(value, name + "."))
        elif isinstance(value, int | float | str | bool) or value is None:
            pairs.append((name, value))
    return pairs


def make_screenshot_run(
    workspace: Workspace,
    protocols=("honest", "paper"),
    models=("mlp", "gbm"),
    epochs: int = 12,
    model_params: dict | None = None,
) -> None:
    """Train ``models`` briefly on the open data, in this thread, once per protocol, unless
    runs exist already (screenshots and tests; the GUI trains in a worker)."""
    from core.tasks import TaskState
    from etd_desktop.runs import RunControl, train_run

    book = workspace.runs
    if book.runs() or workspace.data is None:
        return
    for protocol in protocols:
        plan = {
            "models": list(models),
            "protocol": protocol,
            "epochs": epochs,
            "patience": epochs,
            "seed": 0,
            "balance": workspace.balance.method,
            "recipe": workspace.cleaned.recipe if workspace.cleaned else None,
            "model_params": model_params or {},
        }
        events: list[tuple[str, dict]] = []
        state = TaskState(on_event=lambda kind, payload, kept=events: kept.append((kind, payload)))
        train_run(workspace.data, plan, RunControl(), workspace.project, state)
        run_id = None
        for kind, payload in events:
            run_id = book.take_event(kind, payload, run_id)
