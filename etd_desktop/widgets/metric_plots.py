"""Plots of stored test results: ROC and PR curves overlaid, histories, confusion matrices.

Every function takes ``entries``: a list of :class:`ResultEntry` (one model of one run), so an
honest run and a paper-protocol run are drawn side by side; leaking entries are drawn dashed
and named "(leaking)".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from etd_desktop import theme
from etd_desktop.widgets.plots import ChartPanel, pen

PALETTE = ("#3a86d4", "#e8613c", "#2fa37a", "#9c5fd0", "#c9a227", "#d43a8b", "#5a5a5a", "#17becf")
NO_SKILL_COLOUR = "#8a8a8a"


@dataclass
class ResultEntry:
    """One model of one run, as the Evaluate page shows it."""

    run_id: int
    run_label: str
    model: str
    model_label: str
    leaking: bool
    metrics: dict
    history: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    threshold: float | None = None
    stopped: bool = False

    @property
    def name(self) -> str:
        leak = " (leaking)" if self.leaking else ""
        return f"{self.model_label}, run {abs(self.run_id)}{leak}"

    def test_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Labels and scores of the run's test rows (empty when not stored)."""
        test = self.curves.get("test") or {}
        labels = np.asarray(test.get("label") or [], dtype=np.int64)
        scores = np.asarray(test.get("score") or [], dtype=np.float64)
        return labels, scores


def entry_pen(entry: ResultEntry, index: int, width: float = 2.0):
    style = Qt.PenStyle.DashLine if entry.leaking else Qt.PenStyle.SolidLine
    return pen(PALETTE[index % len(PALETTE)], width, style)


def draw_roc_pr(panel: ChartPanel, entries: list[ResultEntry]) -> None:
    """ROC (with the chance diagonal) and PR (with each run's base rate) side by side."""
    panel.clear()
    roc = panel.add_plot(0, 0, "ROC curve (test customers)", clip=False)
    pr = panel.add_plot(0, 1, "Precision-recall curve (test customers)", clip=False)
    roc.setLabel("bottom", "false positive rate")
    roc.setLabel("left", "true positive rate (recall)")
    pr.setLabel("bottom", "recall")
    pr.setLabel("left", "precision")
    for plot in (roc, pr):
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 1.02, padding=0.02)
        plot.legend.setBrush(pg.mkBrush(theme.band_colour(theme.plot_background().name(), 210)))
    # the curves hug the top left (ROC) and the top (PR): legends go where they are not
    roc.legend.anchor(itemPos=(1, 1), parentPos=(1, 1), offset=(-10, -10))
    pr.legend.anchor(itemPos=(0, 1), parentPos=(0, 1), offset=(10, -10))
    no_skill = pen(NO_SKILL_COLOUR, 1.2, Qt.PenStyle.DotLine)
    roc.plot([0, 1], [0, 1], pen=no_skill, name="no skill (chance)")
    base_rates = set()
    for i, entry in enumerate(entries):
        curves = entry.curves or {}
        r = curves.get("roc") or entry.metrics.get("roc_curve")
        p = curves.get("pr") or entry.metrics.get("pr_curve")
        auc = entry.metrics.get("roc_auc")
        ap = entry.metrics.get("pr_auc")
        if r:
            roc.plot(
                _floats(r.get("fpr")),
                _floats(r.get("tpr")),
                pen=entry_pen(entry, i),
                name=f"{entry.name}: {_fmt(auc)}",
            )
        if p:
            pr.plot(
                _floats(p.get("recall")),
                _floats(p.get("precision")),
                pen=entry_pen(entry, i),
                name=f"{entry.name}: AP {_fmt(ap)}",
            )
        rate = entry.metrics.get("base_rate")
        if rate is not None and round(rate, 4) not in base_rates:
            base_rates.add(round(rate, 4))
            pr.plot(
                [0, 1],
                [rate, rate],
                pen=no_skill,
                name=f"no skill: base rate {rate:.3f}, run {abs(entry.run_id)}",
            )
    panel.set_title("ROC and precision-recall curves")
    panel.set_note(
        "Dotted: a model without skill. PR-AUC is average precision (AP). Dashed "
        "curves come from a leaking (paper-protocol) run."
    )


def draw_histories(panel: ChartPanel, entries: list[ResultEntry]) -> None:
    """Loss and accuracy per epoch, training solid and validation with symbols."""
    panel.clear()
    loss = panel.add_plot(0, 0, "Loss per epoch", clip=False)
    acc = panel.add_plot(0, 1, "Accuracy per epoch", clip=False)
    for plot in (loss, acc):
        plot.setLabel("bottom", "epoch")
    for i, entry in enumerate(entries):
        history = entry.history or {}
        colour = PALETTE[i % len(PALETTE)]
        for plot, key in ((loss, "loss"), (acc, "accuracy")):
            train = _floats(history.get(key))
            val = _floats(history.get(f"val_{key}"))
            x = np.arange(1, len(train) + 1)
            plot.plot(
                x, train, pen=pen(colour, 1.6), name=f"{entry.name} training", connect="finite"
            )
            plot.plot(
                np.arange(1, len(val) + 1),
                val,
                pen=pen(colour, 1.6, Qt.PenStyle.DashLine),
                name=f"{entry.name} validation",
                connect="finite",
            )
        best = entry.metrics.get("best_epoch")
        if best:
            for plot in (loss, acc):
                plot.addItem(
                    pg.InfiniteLine(best, angle=90, pen=pen(colour, 1, Qt.PenStyle.DotLine))
                )
    panel.set_title("Training histories")
    panel.set_note(
        "Solid: training; dashed: validation; dotted vertical: the best epoch, whose "
        "weights were kept."
    )


class ConfusionGrid(QWidget):
    """The confusion matrices of several models side by side."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.tables: list[QTableWidget] = []

    def show_entries(self, entries: list[ResultEntry], columns: int = 4) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.tables = []
        for i, entry in enumerate(entries):
            matrix = entry.metrics.get("confusion") or [[0, 0], [0, 0]]
            box = QWidget()
            column = QVBoxLayout(box)
            title = QLabel(f"<b>{entry.name}</b><br>threshold {_fmt(entry.threshold, 4)}")
            title.setWordWrap(True)
            table = confusion_table(matrix)
            column.addWidget(title)
            column.addWidget(table)
            self.tables.append(table)
            self.grid.addWidget(box, i // columns, i % columns)
        self.grid.setRowStretch(len(entries) // columns + 1, 1)


def confusion_table(matrix) -> QTableWidget:
    """A 2x2 table: rows true normal / true theft, columns flagged no / yes."""
    table = QTableWidget(2, 2)
    table.setHorizontalHeaderLabels(["not flagged", "flagged"])
    table.setVerticalHeaderLabels(["normal", "theft"])
    set_confusion(table, matrix)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setFixedHeight(table.verticalHeader().length() + table.horizontalHeader().height() + 6)
    table.setMinimumWidth(230)
    return table


def set_confusion(table: QTableWidget, matrix) -> None:
    names = [["true negatives", "false alarms"], ["missed thieves", "thieves found"]]
    good = QColor(47, 163, 122, 70)
    bad = QColor(232, 97, 60, 70)
    for r in range(2):
        for c in range(2):
            item = QTableWidgetItem(f"{int(matrix[r][c]):,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(names[r][c])
            item.setBackground(QBrush(good if r == c else bad))
            table.setItem(r, c, item)


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in (values or [])], dtype=float)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"
