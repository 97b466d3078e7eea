"""Live training curves of one model: loss and accuracy, training and validation, per epoch.

Events arrive as fast as the engine sends them; this widget only appends to numpy buffers and
marks itself dirty. A timer redraws at most :data:`REDRAWS_PER_SECOND` times a second with
``setData`` on items made once, so a model that runs hundreds of batches a second costs the
GUI thread ten cheap redraws, not hundreds of rebuilt plots.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from etd_desktop import theme
from etd_desktop.widgets.plots import ChartPanel, pen

REDRAWS_PER_SECOND = 10
TRAIN_COLOUR = theme.NORMAL_COLOUR
VAL_COLOUR = theme.THEFT_COLOUR
BATCH_COLOUR = "#8a8a8a"


class _Series:
    """A growing float array: append in O(1) amortised, read the filled part."""

    def __init__(self) -> None:
        self._values = np.empty(256)
        self.size = 0

    def append(self, value) -> None:
        if self.size == len(self._values):
            self._values = np.resize(self._values, 2 * len(self._values))
        self._values[self.size] = math.nan if value is None else float(value)
        self.size += 1

    @property
    def values(self) -> np.ndarray:
        return self._values[: self.size]


class TrainingCurves(QWidget):
    """Loss (left) and accuracy (right) of one model, with the best epoch marked."""

    def __init__(
        self, model_label: str, parent: QWidget | None = None, *, step_name: str = "epoch"
    ):
        super().__init__(parent)
        self.model_label = model_label
        self.panel = ChartPanel(clip=False, log_toggle=False)
        self.panel.clip_box.setVisible(False)
        # Painting, not the data, is what costs the GUI thread during training: smooth and wide
        # lines take Qt's raster engine several times longer than one-pixel plain ones.
        self.panel.graphics.setAntialiasing(False)
        self.panel.set_title(model_label)
        self.loss_plot = self.panel.add_plot(0, 0, "Loss (binary cross-entropy)", clip=False)
        self.acc_plot = self.panel.add_plot(0, 1, "Accuracy", clip=False)
        for plot in (self.loss_plot, self.acc_plot):
            plot.setLabel("bottom", step_name)
        self.status = QLabel("waiting")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.status)

        self.epochs = _Series()
        self.series = {key: _Series() for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        self.batch_x = _Series()
        self.batch_loss = _Series()
        self.best_epoch: int | None = None
        batch_name = "each batch (training)" if step_name == "epoch" else None
        self.items = {
            "batch_loss": self.loss_plot.plot(
                pen=pen(BATCH_COLOUR, 1.0), name=batch_name, antialias=False
            ),
            "loss": _epoch_curve(self.loss_plot, TRAIN_COLOUR, "training"),
            "val_loss": _epoch_curve(self.loss_plot, VAL_COLOUR, "validation"),
            "accuracy": _epoch_curve(self.acc_plot, TRAIN_COLOUR, "training"),
            "val_accuracy": _epoch_curve(self.acc_plot, VAL_COLOUR, "validation"),
        }
        best_pen = pen(theme.FENCE_COLOUR, 1.5, Qt.PenStyle.DashLine)
        self.best_lines = []
        for plot in (self.loss_plot, self.acc_plot):
            line = pg.InfiniteLine(
                angle=90,
                pen=best_pen,
                movable=False,
                label="best",
                labelOpts={"position": 0.05, "color": theme.FENCE_COLOUR},
            )
            line.setVisible(False)
            plot.addItem(line)
            self.best_lines.append(line)
        self.redraws = 0
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / REDRAWS_PER_SECOND))
        self._timer.timeout.connect(self.redraw_if_needed)
        self._timer.start()

    @property
    def points(self) -> int:
        """Epoch points received so far."""
        return self.epochs.size

    # events --------------------------------------------------------------------------------
    def add_batch(self, payload: dict) -> None:
        batches = max(1, int(payload.get("batches") or 1))
        self.batch_x.append(int(payload["epoch"]) - 1 + int(payload["batch"]) / batches)
        self.batch_loss.append(payload.get("loss"))
        self._dirty = True

    def add_epoch(self, payload: dict) -> None:
        self.epochs.append(int(payload["epoch"]))
        for key, series in self.series.items():
            series.append(payload.get(key))
        best = payload.get("best_epoch")
        self.best_epoch = None if best is None else int(best)
        self._dirty = True

    def set_history(self, history: dict, best_epoch: int | None) -> None:
        """Show a finished model's stored history (lists per epoch)."""
        n = len(history.get("loss") or [])
        for i in range(n):
            payload = {key: (history.get(key) or [None] * n)[i] for key in self.series}
            payload.update(epoch=i + 1, best_epoch=best_epoch)
            self.add_epoch(payload)
        self.redraw_if_needed()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # drawing -------------------------------------------------------------------------------
    def redraw_if_needed(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        x = self.epochs.values
        for key, series in self.series.items():
            y = series.values
            finite = np.isfinite(y)
            self.items[key].setData(x[finite], y[finite])
        self.items["batch_loss"].setData(
            self.batch_x.values, self.batch_loss.values, connect="finite"
        )
        for line in self.best_lines:
            line.setVisible(self.best_epoch is not None)
            if self.best_epoch is not None:
                line.setValue(self.best_epoch)

    def stop_timer(self) -> None:
        self._timer.stop()


def _epoch_curve(plot, colour, name: str):
    """One per-epoch curve: a thin line with a dot at each epoch (no antialiasing: cheaper)."""
    return plot.plot(
        pen=pen(colour, 1),
        name=name,
        symbol="o",
        symbolSize=5,
        symbolBrush=colour,
        antialias=False,
    )
