"""A chart panel: pyqtgraph plots with export (PNG, SVG) and spike-proof y ranges.

:class:`ChartPanel` holds a ``GraphicsLayoutWidget`` so a view can have one plot or several
(both classes side by side, the four STL components). Under it a line says what the user should
know about the chart (an undefined result, filled gaps). The "Clip spikes" toggle limits the
y range to the 99.5th percentile of what is drawn, so one meter fault does not flatten the
chart; "Log scale" is the other way to see both.

Curves are drawn with ``connect="finite"``: a day without readings is a gap, not a line across.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from etd_desktop import theme

log = logging.getLogger(__name__)

theme.apply_plot_defaults()

CLIP_PERCENTILE = 99.5
_EPOCH = pd.Timestamp("1970-01-01")


def day_seconds(days: pd.DatetimeIndex) -> np.ndarray:
    """Days as seconds since 1970, what ``pg.DateAxisItem`` reads (whatever pandas' unit)."""
    return ((pd.DatetimeIndex(days) - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def pen(colour: str, width: float = 1.6, style=None) -> pg.mkPen:
    kwargs = {"color": colour, "width": width}
    if style is not None:
        kwargs["style"] = style
    return pg.mkPen(**kwargs)


def curve(plot: pg.PlotItem, x, y, colour: str, name: str | None = None, width=1.6, **kw):
    """A line that breaks where ``y`` is NaN."""
    item = pg.PlotDataItem(
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        pen=pen(colour, width),
        name=name,
        connect="finite",
        **kw,
    )
    plot.addItem(item)
    return item


def band(plot: pg.PlotItem, x, lower, upper, colour: str, alpha: int = 55):
    """A shaded area between two curves (a percentile band, a confidence band)."""
    x = np.asarray(x, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    keep = np.isfinite(x) & np.isfinite(lower) & np.isfinite(upper)
    # FillBetweenItem joins the two outlines; days without readings are left out of both.
    lo = pg.PlotCurveItem(x[keep], lower[keep], pen=pg.mkPen(None))
    hi = pg.PlotCurveItem(x[keep], upper[keep], pen=pg.mkPen(None))
    fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(theme.band_colour(colour, alpha)))
    plot.addItem(lo)
    plot.addItem(hi)
    plot.addItem(fill)
    return fill


def bars(plot: pg.PlotItem, x, heights, colour: str, width=0.8, name: str | None = None):
    heights = np.nan_to_num(np.asarray(heights, dtype=float), nan=0.0)
    item = pg.BarGraphItem(
        x=np.asarray(x, dtype=float),
        height=heights,
        width=width,
        brush=pg.mkBrush(colour),
        pen=pg.mkPen(colour),
        name=name,
    )
    plot.addItem(item)
    return item


def category_axis(plot: pg.PlotItem, labels: list[str], every: int = 1) -> None:
    """Label integer x positions 0..n-1 with ``labels`` (every ``every``-th one)."""
    ticks = [(i, text) for i, text in enumerate(labels) if i % every == 0]
    plot.getAxis("bottom").setTicks([ticks, []])


class ChartPanel(QWidget):
    """Plots, a note line, clip and log toggles, and an Export button."""

    view_options_changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, clip: bool = True, log_toggle=True):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.plot_background())
        self.title_label = QLabel()
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title_label.setFont(font)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.clip_box = QCheckBox("Clip spikes (99.5th percentile)")
        self.clip_box.setChecked(clip)
        self.clip_box.setToolTip(
            "Limit the y axis so that a single extreme reading does not "
            "flatten the chart; nothing is removed from the data"
        )
        self.log_box = QCheckBox("Log scale")
        self.log_box.setVisible(log_toggle)
        self.clip_box.toggled.connect(self._apply_view_options)
        self.log_box.toggled.connect(self._apply_view_options)

        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.png_action = QAction("Save as PNG...", self)
        self.svg_action = QAction("Save as SVG...", self)
        self.png_action.triggered.connect(lambda: self._export_dialog("png"))
        self.svg_action.triggered.connect(lambda: self._export_dialog("svg"))
        menu.addAction(self.png_action)
        menu.addAction(self.svg_action)
        self.export_button.setMenu(menu)

        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.clip_box)
        top.addWidget(self.log_box)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note_label)
        self.plots: list[pg.PlotItem] = []
        self.clip_plots: list[pg.PlotItem] = []  # plots whose y range the clip toggle limits

    # building ------------------------------------------------------------------------------
    def clear(self) -> None:
        self.graphics.clear()
        self.plots = []
        self.clip_plots = []
        self.note_label.setText("")

    def add_plot(
        self,
        row: int = 0,
        col: int = 0,
        title: str = "",
        *,
        dates=False,
        clip=True,
        legend=True,
        rowspan=1,
        colspan=1,
    ) -> pg.PlotItem:
        axes = {"bottom": pg.DateAxisItem(orientation="bottom")} if dates else None
        plot = self.graphics.addPlot(
            row=row, col=col, rowspan=rowspan, colspan=colspan, title=title or None, axisItems=axes
        )
        plot.showGrid(x=True, y=True, alpha=0.2)
        if legend:
            plot.addLegend(offset=(-10, 10))
        self.plots.append(plot)
        if clip:
            self.clip_plots.append(plot)
        return plot

    def set_title(self, text: str) -> None:
        self.title_label.setText(text)

    def set_note(self, text: str) -> None:
        self.note_label.setText(text)

    def finish(self) -> None:
        """Call after adding items: applies clip and log to the new plots."""
        self._apply_view_options()

    # clip / log ----------------------------------------------------------------------------
    def _apply_view_options(self) -> None:
        log_y = self.log_box.isChecked()
        for plot in self.clip_plots:
            plot.setLogMode(y=log_y)
            plot.enableAutoRange(axis="y")
            if self.clip_box.isChecked() and not log_y:
                top = _percentile_of_items(plot, CLIP_PERCENTILE)
                bottom = _minimum_of_items(plot)
                if top is not None and bottom is not None and top > bottom:
                    plot.setYRange(min(0.0, bottom), top * 1.08, padding=0)
        self.view_options_changed.emit()

    # export --------------------------------------------------------------------------------
    def export(self, path: str | Path) -> Path:
        """Write the charts to ``path``; the suffix picks PNG or SVG."""
        path = Path(path)
        item = self.graphics.ci
        if path.suffix.lower() == ".svg":
            try:
                exporters.SVGExporter(item).export(str(path))
            except ValueError:
                # pyqtgraph 0.14's SVG exporter cannot parse closed paths ("... Z") that
                # Qt 6 writes for filled areas and bars; Qt's own SVG generator can.
                self._export_svg_with_qt(path)
            log.info("chart exported to %s", path)
            return path
        else:
            exporter = exporters.ImageExporter(item)
            exporter.parameters()["width"] = max(800, int(self.graphics.width() * 2))
        exporter.export(str(path))
        log.info("chart exported to %s", path)
        return path

    def _export_svg_with_qt(self, path: Path) -> None:
        from PySide6.QtCore import QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        scene = self.graphics.scene()
        rect = self.graphics.ci.sceneBoundingRect()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(int(rect.width()), int(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle(self.title_label.text() or "chart")
        painter = QPainter(generator)
        try:
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            painter.end()

    def _export_dialog(self, kind: str) -> None:
        from etd_desktop.settings import Settings

        settings = Settings()
        name = (self.title_label.text() or "chart").split(":")[0].strip().replace(" ", "_")
        start = str(Path(settings.last_folder) / f"{name}.{kind}")
        filters = "PNG image (*.png)" if kind == "png" else "SVG drawing (*.svg)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the chart", start, filters)
        if path:
            if not path.lower().endswith("." + kind):
                path += "." + kind
            settings.last_folder = path
            self.export(path)


def _item_values(plot: pg.PlotItem) -> np.ndarray:
    values = []
    for item in plot.listDataItems():
        y = item.yData if hasattr(item, "yData") else None
        if y is not None and len(y):
            values.append(np.asarray(y, dtype=float))
    for item in plot.items:
        if isinstance(item, pg.BarGraphItem):
            values.append(np.asarray(item.opts.get("height"), dtype=float))
    if not values:
        return np.empty(0)
    joined = np.concatenate(values)
    return joined[np.isfinite(joined)]


def _percentile_of_items(plot: pg.PlotItem, q: float) -> float | None:
    values = _item_values(plot)
    return float(np.percentile(values, q)) if len(values) else None


def _minimum_of_items(plot: pg.PlotItem) -> float | None:
    values = _item_values(plot)
    return float(values.min()) if len(values) else None
