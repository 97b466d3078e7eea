"""The Clean page: the recipe step by step (missing data, imputation, outliers), then a run.

Each step previews its effect live, computed in a worker from the readings as imported: how
many customers of each class the missing-data threshold keeps, the fences of a sample customer
and how many readings fall outside them. "Run the cleaning" fits the recipe on all customers
(``Recipe.fit_transform``) in a worker with progress and Stop; the result becomes the
workspace's cleaned data (stored in the project when one is open) and the last step shows
sample customers before and after, imputed and capped readings marked.

The cleaning here serves exploration and the balance preview. Training refits the same recipe
on its training customers only, so nothing learned here leaks into a test set.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.cleaning import flag_outliers, missing_profile
from core.dataset import NORMAL, THEFT, UNKNOWN
from core.recipe import Recipe
from core.tasks import TaskState, ensure_state
from etd_desktop import theme
from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.widgets import cleaning_plots, plots
from etd_desktop.widgets.steps import Steps
from etd_desktop.workers import Task
from etd_desktop.workspace import CleaningResult, Workspace

log = logging.getLogger(__name__)

FIELDS_AT_SIZE = QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint

IMPUTATION_TEXT = {
    "knn": "KNN across customers (the reference method): a missing day takes the mean of the "
    "k customers most alike on the days both were read. Slow on many customers.",
    "linear": "Linear interpolation along time, customer by customer. Fast; blind to other "
    "customers.",
    "none": "No imputation: gaps stay empty and enter the models as 0 kWh.",
}
TREATMENT_TEXT = {
    "keep": "keep the readings (flag only)",
    "cap": "cap them at the fence",
    "missing": "empty them and impute again",
    "drop": "drop the customers that have any",
}
SAMPLES = 6
_DEBOUNCE_MS = 200


# worker functions ----------------------------------------------------------------------------
def missing_preview(data, zeros_as_missing: bool, state: TaskState | None = None):
    ensure_state(state).set_status("counting missing days")
    return missing_profile(data, zeros_as_missing=zeros_as_missing)


def outlier_preview(kwh: np.ndarray, rule: str, factor: float, state=None) -> dict:
    """How many readings of the given customers the fences flag, and telling sample rows."""
    state = ensure_state(state)
    state.set_status("finding the outlier fences")
    flagged, lower, upper = flag_outliers(kwh, rule, factor)
    state.check()
    per_customer = flagged.sum(axis=1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmax(kwh, axis=1) / np.maximum(np.nanmedian(kwh, axis=1), 1e-3)
    spread = np.nan_to_num(spread, nan=0.0)
    order = np.argsort(-spread)
    samples = list(order[: SAMPLES // 2])
    rest = np.setdiff1d(np.arange(len(kwh)), samples)
    if len(rest):
        rng = np.random.default_rng(0)
        samples += list(rng.choice(rest, min(len(rest), SAMPLES - len(samples)), replace=False))
    return {
        "cells": int(flagged.sum()),
        "customers": int((per_customer > 0).sum()),
        "samples": [int(s) for s in samples],
    }


def run_cleaning(data, recipe: Recipe, state: TaskState | None = None) -> CleaningResult:
    fitted, prepared = recipe.fit_transform(data, state=state)
    return CleaningResult.from_fit(recipe, fitted, prepared)


# the page ------------------------------------------------------------------------------------
class CleanPage(StatefulPage):
    title = "Clean"

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "Open data to clean it",
            "The cleaning wizard filters customers with too many missing days, fills the "
            "remaining gaps and treats extreme readings, with a live preview of each step.",
            "Go to Data",
        )
        super().__init__(workspace, empty, parent, goes_to="data")
        self.profile = None
        self.outliers: dict | None = None
        self.task: Task | None = None
        self._tasks: dict[str, Task] = {}
        self._outlier_timer = self.debounced(_DEBOUNCE_MS, self.preview_outliers)
        self.steps = Steps()
        self.steps.add_step("Missing data", self._build_missing())
        self.steps.add_step("Imputation", self._build_imputation())
        self.steps.add_step("Outliers", self._build_outliers())
        self.steps.add_step("Summary and run", self._build_summary())
        self.steps.finish_header()
        self.steps.step_changed.connect(self._step_changed)
        layout = QVBoxLayout(self.content)
        layout.addWidget(self.steps)

        workspace.data_changed.connect(self._data_changed)
        workspace.cleaned_changed.connect(self._show_result)
        self._data_changed()

    # step 1: missing data ------------------------------------------------------------------
    def _build_missing(self) -> QWidget:
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 100.0)
        self.threshold.setDecimals(1)
        self.threshold.setSingleStep(0.5)
        self.threshold.setSuffix(" % of days")
        self.threshold.setValue(3.0)
        self.zeros_missing = QCheckBox("Count zero readings as missing (reference method)")
        self.zeros_missing.setChecked(True)
        self.min_days = QSpinBox()
        self.min_days.setRange(0, 100_000)
        self.min_days.setSuffix(" days with readings")
        self.kept_label = QLabel()
        self.kept_label.setWordWrap(True)
        font = self.kept_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.kept_label.setFont(font)
        form = QFormLayout()
        form.setFieldGrowthPolicy(FIELDS_AT_SIZE)  # a spin box 1,000 px wide reads badly
        form.addRow("Drop customers missing more than:", self.threshold)
        form.addRow("", self.zeros_missing)
        form.addRow("and those with fewer than:", self.min_days)
        self.missing_chart = plots.ChartPanel(clip=False, log_toggle=True)
        self.missing_chart.log_box.setText("Log counts")

        self.threshold.valueChanged.connect(self._threshold_changed)
        self.min_days.valueChanged.connect(self._update_kept)
        self.zeros_missing.toggled.connect(self.preview_missing)

        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        layout.addWidget(self.kept_label)
        layout.addWidget(self.missing_chart, 1)
        return box

    def preview_missing(self) -> Task | None:
        data = self.workspace.data
        if data is None:
            return None
        task = self._run(
            "missing",
            "Counting missing days",
            missing_preview,
            data,
            self.zeros_missing.isChecked(),
        )
        task.finished.connect(lambda p, t=task: self._profile_ready(t, p))
        return task

    def _profile_ready(self, task: Task, profile) -> None:
        if self._tasks.get("missing") is not task:
            return
        self.profile = profile
        self._draw_missing()
        self._update_kept()

    def _kept_mask(self) -> np.ndarray | None:
        if self.profile is None:
            return None
        share = np.asarray(self.profile.missing_share)
        keep = share <= self.threshold.value() / 100.0 + 1e-12
        keep &= np.asarray(self.profile.reading_days) >= self.min_days.value()
        return keep

    def _update_kept(self) -> None:
        keep = self._kept_mask()
        if keep is None:
            self.kept_label.setText("Counting missing days...")
            return
        labels = np.asarray(self.profile.labels)
        self.kept_counts = {
            "all": int(keep.sum()),
            "normal": int((keep & (labels == NORMAL)).sum()),
            "theft": int((keep & (labels == THEFT)).sum()),
            "unknown": int((keep & (labels == UNKNOWN)).sum()),
        }
        c = self.kept_counts
        total = len(keep)
        text = (
            f"Kept: <b>{c['all']:,}</b> of {total:,} customers "
            f"(<span style='color:{theme.NORMAL_COLOUR}'>{c['normal']:,} normal</span>, "
            f"<span style='color:{theme.THEFT_COLOUR}'>{c['theft']:,} thieves</span>"
        )
        text += f", {c['unknown']:,} unlabelled)" if c["unknown"] else ")"
        text += f"; {total - c['all']:,} dropped."
        data = self.workspace.data
        if data is not None:
            # a percentage of a short series is a whole number of days: say which
            allowed = int(np.floor(self.threshold.value() / 100.0 * data.n_days + 1e-9))
            text += (
                f" {self.threshold.value():.1f}% of {data.n_days:,} days allows at most "
                f"{allowed:,} missing day{'s' if allowed != 1 else ''} per customer."
            )
        if c["theft"] and c["theft"] < 6:
            text += " Very few thieves are left: oversampling and training need more."
        self.kept_label.setText(text)
        if hasattr(self, "threshold_line"):
            self.threshold_line.blockSignals(True)
            self.threshold_line.setValue(self.threshold.value())
            self.threshold_line.blockSignals(False)

    def _threshold_changed(self) -> None:
        self._update_kept()
        self._outlier_timer.start()

    def _draw_missing(self) -> None:
        self.missing_chart.clear()
        self.threshold_line = cleaning_plots.draw_missing(
            self.missing_chart,
            self.profile.missing_share,
            self.profile.labels,
            self.threshold.value(),
        )
        self.threshold_line.sigPositionChanged.connect(
            lambda line: self.threshold.setValue(round(max(0.0, line.value()), 1))
        )

    # step 2: imputation --------------------------------------------------------------------
    def _build_imputation(self) -> QWidget:
        self.method = QComboBox()
        self.method.addItem("KNN across customers", "knn")
        self.method.addItem("Linear along time", "linear")
        self.method.addItem("None", "none")
        self.k = QSpinBox()
        self.k.setRange(1, 50)
        self.k.setValue(5)
        self.method_text = QLabel()
        self.method_text.setWordWrap(True)
        self.method.currentIndexChanged.connect(self._method_changed)
        form = QFormLayout()
        form.setFieldGrowthPolicy(FIELDS_AT_SIZE)  # a spin box 1,000 px wide reads badly
        form.addRow("Fill the remaining gaps with:", self.method)
        form.addRow("Neighbours (k):", self.k)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        layout.addWidget(self.method_text)
        layout.addStretch(1)
        self._method_changed()
        return box

    def _method_changed(self) -> None:
        method = self.method.currentData()
        self.k.setEnabled(method == "knn")
        self.method_text.setText(IMPUTATION_TEXT[method])

    # step 3: outliers ----------------------------------------------------------------------
    def _build_outliers(self) -> QWidget:
        self.rule = QComboBox()
        self.rule.addItem("IQR per customer (Q1 - f*IQR, Q3 + f*IQR)", "iqr")
        self.rule.addItem("Mean +/- f standard deviations", "sigma")
        self.factor = QDoubleSpinBox()
        self.factor.setRange(0.5, 10_000)
        self.factor.setDecimals(1)
        self.factor.setSingleStep(0.5)
        self.factor.setValue(3.0)
        self.treatment = QComboBox()
        for key, text in TREATMENT_TEXT.items():
            self.treatment.addItem(text, key)
        self.treatment.setCurrentIndex(1)
        self.sample = QComboBox()
        self.sample.setMinimumContentsLength(34)
        self.outlier_label = QLabel()
        self.outlier_label.setWordWrap(True)
        form = QFormLayout()
        form.setFieldGrowthPolicy(FIELDS_AT_SIZE)  # a spin box 1,000 px wide reads badly
        form.addRow("Fences:", self.rule)
        form.addRow("Factor f (1.5 minor, 3 extreme):", self.factor)
        form.addRow("Readings outside the fences:", self.treatment)
        form.addRow("Sample customer:", self.sample)
        self.outlier_chart = plots.ChartPanel(clip=False)
        self.outlier_chart.clip_box.setVisible(False)
        self.outlier_chart.log_box.setChecked(True)  # spikes are what this chart is about
        self.outlier_chart.log_box.toggled.connect(self._draw_outliers)
        for widget in (self.rule, self.treatment):
            widget.currentIndexChanged.connect(lambda _: self._outlier_timer.start())
        self.factor.valueChanged.connect(lambda _: self._outlier_timer.start())
        self.sample.currentIndexChanged.connect(self._draw_outliers)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        layout.addWidget(self.outlier_label)
        layout.addWidget(self.outlier_chart, 1)
        return box

    def _kept_rows(self) -> np.ndarray:
        keep = self._kept_mask()
        return np.flatnonzero(keep) if keep is not None else np.zeros(0, dtype=int)

    def preview_outliers(self) -> Task | None:
        data = self.workspace.data
        rows = self._kept_rows()
        if data is None or self.profile is None or not len(rows):
            self.outlier_label.setText("No customer is kept by the missing-data filter.")
            return None
        kwh = data.kwh[rows]
        task = self._run(
            "outliers",
            "Previewing outliers",
            outlier_preview,
            kwh,
            self.rule.currentData(),
            self.factor.value(),
        )
        task.finished.connect(lambda r, t=task, rw=rows: self._outliers_ready(t, r, rw))
        return task

    def _outliers_ready(self, task: Task, result: dict, rows: np.ndarray) -> None:
        if self._tasks.get("outliers") is not task:
            return
        self.outliers = dict(result, rows=rows)
        self.outlier_label.setText(
            f"On the readings as imported of the {len(rows):,} kept customers: "
            f"<b>{result['cells']:,}</b> readings of <b>{result['customers']:,}</b> customers "
            f"fall outside the fences; treatment: {TREATMENT_TEXT[self.treatment.currentData()]}."
        )
        data = self.workspace.data
        self.sample.blockSignals(True)
        current = self.sample.currentData()
        self.sample.clear()
        for s in result["samples"]:
            row = int(rows[s])
            word = {THEFT: "thief", NORMAL: "normal"}.get(int(data.labels[row]), "unlabelled")
            self.sample.addItem(f"{data.customer_ids[row]} ({word})", row)
        index = self.sample.findData(current)
        self.sample.setCurrentIndex(max(0, index))
        self.sample.blockSignals(False)
        self._draw_outliers()

    def _draw_outliers(self) -> None:
        data = self.workspace.data
        row = self.sample.currentData()
        chart = self.outlier_chart
        chart.clear()
        if data is None or row is None:
            return
        cleaning_plots.draw_fences(
            chart,
            data.kwh[int(row)].astype(float),
            data.days,
            data.customer_ids[int(row)],
            self.rule.currentData(),
            self.factor.value(),
            log=chart.log_box.isChecked(),
        )

    # step 4: summary and run ---------------------------------------------------------------
    def _build_summary(self) -> QWidget:
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.run_button = QPushButton("Run the cleaning")
        self.run_button.setMinimumHeight(34)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_sample = QComboBox()
        self.result_sample.setMinimumContentsLength(34)
        self.result_sample.currentIndexChanged.connect(self._draw_result)
        self.explore_button = QPushButton("Explore the cleaned data \u2192")
        self.explore_button.clicked.connect(lambda: self.go_to("explore"))
        self.balance_button = QPushButton("Balance \u2192")
        self.balance_button.clicked.connect(lambda: self.go_to("balance"))
        sample_row = QHBoxLayout()
        sample_row.addWidget(QLabel("Before and after, customer:"))
        sample_row.addWidget(self.result_sample, 1)
        sample_row.addWidget(self.explore_button)
        sample_row.addWidget(self.balance_button)
        self.result_chart = plots.ChartPanel(clip=True)
        self.result_box = QWidget()
        result_layout = QVBoxLayout(self.result_box)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addLayout(sample_row)
        result_layout.addWidget(self.result_chart, 1)
        self.result_box.setVisible(False)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addWidget(self.summary_label)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        # The sample chart shows only once a cleaned result exists: an empty plot and buttons
        # to pages with nothing to show confused more than they helped.
        layout.addWidget(self.result_box, 1)
        layout.addStretch(0)  # keeps the recipe at the top while the result box is hidden
        return box

    def recipe(self) -> Recipe:
        return Recipe(
            threshold=self.threshold.value() / 100.0,
            zeros_as_missing=self.zeros_missing.isChecked(),
            min_days=self.min_days.value(),
            imputation=self.method.currentData(),
            k=self.k.value(),
            outlier_rule=self.rule.currentData(),
            outlier_factor=self.factor.value(),
            outlier_treatment=self.treatment.currentData(),
        )

    def _update_summary(self) -> None:
        lines = "".join(f"<li>{line}</li>" for line in self.recipe().describe())
        kept = ""
        if getattr(self, "kept_counts", None):
            c = self.kept_counts
            kept = (
                f"<p>The filter keeps {c['all']:,} customers ({c['normal']:,} normal, "
                f"{c['theft']:,} thieves).</p>"
            )
        self.summary_label.setText(
            f"<p><b>The recipe</b></p><ul>{lines}</ul>{kept}<p>The cleaning runs on all "
            "customers of the data set for exploring and for the balance preview. Training fits "
            "this recipe again on its training customers only.</p>"
        )

    def run(self) -> Task | None:
        data = self.workspace.data
        if data is None:
            return None
        recipe = self.recipe()
        task = self.workspace.tasks.run("Cleaning", run_cleaning, data, recipe)
        task.finished.connect(self._cleaned)
        task.failed.connect(self._run_failed)
        task.stopped.connect(self._run_stopped)
        task.ended.connect(self._run_ended)
        self.task = task
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.result_label.setText("Cleaning... (progress and Stop also in the status bar)")
        return task

    def stop(self) -> None:
        if self.task is not None:
            self.task.stop()

    def _cleaned(self, result: CleaningResult) -> None:
        self.workspace.set_cleaned(result)

    def _run_stopped(self) -> None:
        kept = self.workspace.cleaned is not None
        self.result_label.setText(
            "Cleaning stopped; the earlier cleaned result below is kept."
            if kept
            else "Cleaning stopped; nothing kept. Run the cleaning again when ready."
        )

    def _run_failed(self, exc: BaseException, details: str) -> None:
        self.result_label.setText(f"The cleaning failed: {exc}")
        window = self.window()
        if hasattr(window, "report_error"):
            window.report_error("The cleaning failed", exc, details)

    def _run_ended(self) -> None:
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _show_result(self) -> None:
        cleaned = self.workspace.cleaned
        if cleaned is None:
            self.result_box.setVisible(False)
            if self.task is None or not self.task.running:
                self.result_label.setText("")
            return
        self.result_box.setVisible(True)
        report = cleaned.report
        out = cleaned.data
        imputed = report.get("imputation", {}).get("filled_cells")
        outl = report.get("outliers", {})
        parts = [
            f"<b>Cleaned:</b> {out.n_customers:,} of {report.get('customers_in', '?'):,} customers "
            f"kept ({out.normal_count:,} normal, {out.theft_count:,} thieves)",
        ]
        if imputed is not None:
            parts.append(f"{int(imputed):,} readings imputed")
        if outl:
            parts.append(
                f"{outl.get('flagged_cells', 0):,} readings outside the fences "
                f"({outl.get('treatment', '')})"
            )
        if self.workspace.project is None:
            parts.append("kept in memory (Project > Save as keeps it)")
        else:
            parts.append("stored in the project")
        self.result_label.setText("; ".join(parts) + ".")
        self.result_sample.blockSignals(True)
        self.result_sample.clear()
        for row in _result_samples(cleaned):
            word = {THEFT: "thief", NORMAL: "normal"}.get(int(out.labels[row]), "unlabelled")
            self.result_sample.addItem(f"{out.customer_ids[row]} ({word})", int(row))
        self.result_sample.blockSignals(False)
        self._draw_result()

    def _draw_result(self) -> None:
        cleaned = self.workspace.cleaned
        data = self.workspace.data
        chart = self.result_chart
        chart.clear()
        row = self.result_sample.currentData()
        if cleaned is None or data is None or row is None:
            return
        out = cleaned.data
        customer = out.customer_ids[int(row)]
        after = out.kwh[int(row)].astype(float)
        try:
            before = data.kwh[data.index_of(customer)].astype(float)
        except KeyError:
            before = np.full_like(after, np.nan)
        imputed = capped = None
        prepared = cleaned.prepared
        if prepared is not None:
            imputed = np.asarray(prepared.imputed_mask[int(row)], dtype=bool)
            capped = np.asarray(prepared.outlier_mask[int(row)], dtype=bool)
        cleaning_plots.draw_before_after(
            chart, customer, out.days, before, after, imputed=imputed, capped=capped
        )

    # page ----------------------------------------------------------------------------------
    def _run(self, key: str, name: str, fn, *args) -> Task:
        old = self._tasks.get(key)
        if old is not None and old.running:
            old.stop()
        task = self.workspace.tasks.run(name, fn, *args)
        self._tasks[key] = task
        return task

    def _data_changed(self) -> None:
        self.show_content(self.workspace.data is not None)
        self.profile = None
        self.outliers = None
        if self.workspace.data is not None:
            self.preview_missing()
            self._update_kept()

    def _step_changed(self, index: int) -> None:
        if index == 2 and (self.outliers is None or self._outlier_timer.isActive()):
            self.preview_outliers()
        if index == 3:
            self._update_summary()

    def on_shown(self) -> None:
        if self.workspace.data is not None and self.profile is None:
            self.preview_missing()

    def prepare_screenshot(self, step: str = "") -> None:
        if step:
            self.steps.go_to_name(step)
        if step.startswith("outlier"):
            self.preview_outliers()
        if step.startswith("summary"):
            self.run()


def _result_samples(cleaned: CleaningResult) -> list[int]:
    """Customers worth looking at: most imputed, most outliers, then a thief and a normal."""
    out = cleaned.data
    rows: list[int] = []
    prepared = cleaned.prepared
    if prepared is not None and out.n_customers:
        rows.append(int(np.argmax(prepared.imputed_mask.sum(axis=1))))
        rows.append(int(np.argmax(prepared.outlier_mask.sum(axis=1))))
    for value in (THEFT, NORMAL):
        hits = np.flatnonzero(out.labels == value)
        rows.extend(int(r) for r in hits[:2])
    return list(dict.fromkeys(r for r in rows if r < out.n_customers))[:SAMPLES]
