"""The Balance page: how training will grow the thieves, previewed on the cleaned customers.

Balancing touches training customers only: during training the chosen method runs on the
training split after the split, so validation and test customers stay real. The preview here
runs the same engine call (``core.balancing.oversample``) on all labelled cleaned customers to
show what it makes: class counts before and after, and the mean curve of the synthetic thieves
beside the real thieves and the normal customers. The choice is kept in the workspace for the
Train page.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
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

from core.balancing import BALANCE_METHODS, VARIANTS, oversample, synthetic_mean_curves
from core.dataset import NORMAL, THEFT
from core.tasks import TaskState, ensure_state
from etd_desktop import theme
from etd_desktop.pages.base import EmptyState, StatefulPage
from etd_desktop.widgets import plots
from etd_desktop.workers import Task
from etd_desktop.workspace import BalanceChoice, Workspace

log = logging.getLogger(__name__)

TRAINING_ONLY = (
    "Balancing touches training customers only. When a model is trained, the customers are "
    "split first and the method below makes synthetic thieves from the training thieves alone; "
    "validation and test customers stay real, so the scores you see are honest. This preview "
    "runs the method on all labelled cleaned customers just to show what it makes."
)
_DEBOUNCE_MS = 250


def preview_balance(X, y, method: str, params: dict, state: TaskState | None = None) -> dict:
    """Oversample ``X`` and return the counts and the three mean curves (no rows kept)."""
    state = ensure_state(state)
    result = oversample(X, y, method, state=state.child(0, 0.9), **params)
    curves = synthetic_mean_curves(result.X, result.y, result.synthetic)
    state.set_progress(1.0)
    return {
        "report": dict(result.report),
        "curves": curves,
        "after": {
            "normal": int((result.y == NORMAL).sum()),
            "theft_real": int(((result.y == THEFT) & ~result.synthetic).sum()),
            "theft_synthetic": int(((result.y == THEFT) & result.synthetic).sum()),
        },
    }


class BalancePage(StatefulPage):
    title = "Balance"

    def __init__(self, workspace: Workspace, parent=None):
        empty = EmptyState(
            "Clean the data first",
            "The balance preview uses the cleaned, labelled customers. Run the cleaning on the "
            "Clean page; then choose how training grows the thieves.",
            "Go to Clean",
        )
        super().__init__(workspace, empty, parent, goes_to="clean")
        self.task: Task | None = None
        self.preview: dict | None = None
        self._timer = self.debounced(_DEBOUNCE_MS, self.run_preview)
        self._build()
        workspace.cleaned_changed.connect(self._cleaned_changed)
        self._cleaned_changed()

    def _build(self) -> None:
        self.method = QComboBox()
        for key, text in BALANCE_METHODS.items():
            self.method.addItem(text.split(":")[0], key)
            self.method.setItemData(self.method.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.method_text = QLabel()
        self.method_text.setWordWrap(True)
        self.ratio = QDoubleSpinBox()
        self.ratio.setRange(0.05, 1.0)
        self.ratio.setSingleStep(0.05)
        self.ratio.setValue(1.0)
        self.k_neighbors = QSpinBox()
        self.k_neighbors.setRange(1, 50)
        self.k_neighbors.setValue(5)
        self.m_neighbors = QSpinBox()
        self.m_neighbors.setRange(1, 100)
        self.m_neighbors.setValue(10)
        self.variant = QComboBox()
        for v in VARIANTS:
            self.variant.addItem(v, v)
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        form = QFormLayout()
        form.addRow("Method:", self.method)
        form.addRow("", self.method_text)
        form.addRow("Thieves per normal customer after:", self.ratio)
        form.addRow("Neighbours k:", self.k_neighbors)
        form.addRow("Borderline neighbours m:", self.m_neighbors)
        form.addRow("Borderline variant:", self.variant)
        form.addRow("Random seed:", self.seed)

        self.statement = QLabel(TRAINING_ONLY)
        self.statement.setWordWrap(True)
        self.statement.setFrameShape(QLabel.Shape.StyledPanel)
        self.statement.setMargin(8)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.messages = QLabel()
        self.messages.setWordWrap(True)

        side = QWidget()
        side.setMaximumWidth(420)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.statement)
        side_layout.addLayout(form)
        side_layout.addWidget(self.counts_label)
        side_layout.addWidget(self.messages)
        side_layout.addStretch(1)
        # the page's one decision is kept as it is set; the next step is training
        self.train_button = QPushButton("Train models with this balancing \u2192")
        self.train_button.setToolTip("The choice above is used by the Train page (Ctrl+5).")
        self.train_button.clicked.connect(lambda: self.go_to("train"))
        side_layout.addWidget(self.train_button)

        self.counts_chart = plots.ChartPanel(clip=False, log_toggle=False)
        self.counts_chart.clip_box.setVisible(False)
        self.curves_chart = plots.ChartPanel(clip=True)
        charts = QVBoxLayout()
        charts.addWidget(self.counts_chart, 2)
        charts.addWidget(self.curves_chart, 3)
        layout = QHBoxLayout(self.content)
        layout.addWidget(side)
        layout.addLayout(charts, 1)

        self.method.currentIndexChanged.connect(self._method_changed)
        for spin in (self.ratio, self.k_neighbors, self.m_neighbors, self.seed):
            spin.valueChanged.connect(lambda _: self._timer.start())
        self.variant.currentIndexChanged.connect(lambda _: self._timer.start())
        self._method_changed()

    # choices -------------------------------------------------------------------------------
    def _method_changed(self) -> None:
        method = self.method.currentData()
        self.method_text.setText(BALANCE_METHODS[method])
        self.ratio.setEnabled(method != "none")
        self.k_neighbors.setEnabled(method in ("borderline_smote", "smote", "adasyn"))
        self.m_neighbors.setEnabled(method == "borderline_smote")
        self.variant.setEnabled(method == "borderline_smote")
        self.seed.setEnabled(method != "none")
        self._timer.start()

    def params(self) -> dict:
        method = self.method.currentData()
        params: dict = {}
        if method != "none":
            params["ratio"] = self.ratio.value()
            params["seed"] = self.seed.value()
        if method in ("borderline_smote", "smote", "adasyn"):
            params["k_neighbors"] = self.k_neighbors.value()
        if method == "borderline_smote":
            params["m_neighbors"] = self.m_neighbors.value()
            params["variant"] = self.variant.currentData()
        return params

    def set_method(self, key: str) -> None:
        self.method.setCurrentIndex(self.method.findData(key))

    # preview -------------------------------------------------------------------------------
    def _training_rows(self):
        cleaned = self.workspace.cleaned
        if cleaned is None:
            return None, None
        data = cleaned.data
        labelled = np.flatnonzero(data.labels != -1)
        X = np.nan_to_num(data.kwh[labelled].astype(np.float32), nan=0.0)
        return X, data.labels[labelled].astype(np.int64)

    def _cleaned_changed(self) -> None:
        cleaned = self.workspace.cleaned
        usable = (
            cleaned is not None and cleaned.data.theft_count > 0 and cleaned.data.normal_count > 0
        )
        if cleaned is not None and not usable:
            self.empty.set_message(
                "Both classes are needed",
                "The cleaned data need labelled thieves and normal customers to preview "
                "balancing. Lower the cleaning's strictness or import labels.",
            )
        self.show_content(usable)
        self.preview = None
        if usable:
            self._timer.start()

    def run_preview(self) -> Task | None:
        self._timer.stop()
        X, y = self._training_rows()
        if X is None or not self.showing_content:
            return None
        if self.task is not None and self.task.running:
            self.task.stop()
        method = self.method.currentData()
        params = self.params()
        self.counts_label.setText("Balancing...")
        task = self.workspace.tasks.run("Balance preview", preview_balance, X, y, method, params)
        task.finished.connect(lambda r, t=task: self._show(t, method, params, r))
        task.failed.connect(lambda exc, details, t=task: self._failed(t, exc))
        self.task = task
        return task

    def _failed(self, task: Task, exc: BaseException) -> None:
        if task is not self.task:
            return
        self.counts_label.setText("")
        self.messages.setText(f"<b>This choice does not work here:</b> {exc}")
        self.counts_chart.clear()
        self.curves_chart.clear()

    def _show(self, task: Task, method: str, params: dict, result: dict) -> None:
        if task is not self.task:
            return
        self.preview = result
        cleaned = self.workspace.cleaned.data
        before = {"normal": cleaned.normal_count, "theft": cleaned.theft_count}
        after = result["after"]
        self.counts_label.setText(
            f"Before: {before['normal']:,} normal, {before['theft']:,} thieves.<br>"
            f"After: {after['normal']:,} normal, {after['theft_real']:,} real and "
            f"<b>{after['theft_synthetic']:,} synthetic</b> thieves."
        )
        messages = result["report"].get("messages") or []
        self.messages.setText("<br>".join(str(m) for m in messages))
        self._draw_counts(before, after)
        self._draw_curves(result["curves"])
        self.workspace.set_balance(BalanceChoice(method, params, result["report"]))

    def _draw_counts(self, before: dict, after: dict) -> None:
        chart = self.counts_chart
        chart.clear()
        chart.set_title("Customers per class, before and after")
        plot = chart.add_plot(legend=True)
        plots.bars(
            plot,
            [0, 2],
            [before["normal"], after["normal"]],
            theme.NORMAL_COLOUR,
            width=0.7,
            name="normal",
        )
        plots.bars(
            plot,
            [0.75, 2.75],
            [before["theft"], after["theft_real"]],
            theme.THEFT_COLOUR,
            width=0.7,
            name="real thieves",
        )
        import pyqtgraph as pg

        synthetic = pg.BarGraphItem(
            x=[2.75],
            y0=[after["theft_real"]],
            height=[after["theft_synthetic"]],
            width=0.7,
            brush=pg.mkBrush(theme.SYNTHETIC_COLOUR),
            pen=pg.mkPen(theme.SYNTHETIC_COLOUR),
            name="synthetic",
        )
        plot.addItem(synthetic)
        plot.getAxis("bottom").setTicks([[(0.375, "before"), (2.375, "after")], []])
        plot.setXRange(-0.6, 5.0)  # room on the right for the legend
        plot.setLabel("left", "customers")
        chart.finish()

    def _draw_curves(self, curves: dict) -> None:
        chart = self.curves_chart
        chart.clear()
        chart.set_title("Mean daily kWh per group")
        data = self.workspace.cleaned.data
        plot = chart.add_plot(dates=True)
        x = plots.day_seconds(data.days)
        counts = curves.get("counts", {})
        for key, colour, word in (
            ("normal", theme.NORMAL_COLOUR, "normal"),
            ("real_theft", theme.THEFT_COLOUR, "real thieves"),
            ("synthetic_theft", theme.SYNTHETIC_COLOUR, "synthetic thieves"),
        ):
            values = curves.get(key)
            if values is None:
                continue
            plots.curve(plot, x, values, colour, f"{word} ({counts.get(key, 0):,})", width=1.2)
        plot.setLabel("left", "kWh")
        chart.finish()

    def on_shown(self) -> None:
        if self.preview is None and self.showing_content:
            self._timer.start()

    def prepare_screenshot(self, step: str = "") -> None:
        if step:
            self.set_method(step)
        self.run_preview()
