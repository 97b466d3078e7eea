"""The charts of the cleaning wizard: missing days per class, a customer's fences, before/after.

Each function draws into a cleared :class:`~etd_desktop.widgets.plots.ChartPanel` from plain
arrays, so the Clean page keeps only the wizard's state and its workers. The outlier charts
draw a log axis by hand (``BarGraphItem`` has no log mode), so readings under ``LOG_FLOOR``
kWh, zeros among them, sit on that floor rather than vanish.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.cleaning import outlier_fences
from core.dataset import NORMAL, THEFT, UNKNOWN
from etd_desktop import theme
from etd_desktop.widgets import plots

LOG_FLOOR = 0.01


def log_y(values):
    """log10 of kWh for a log axis drawn by hand (BarGraphItem has no log mode)."""
    return np.log10(np.maximum(np.asarray(values, dtype=float), LOG_FLOOR))


def draw_missing(chart, missing_share, labels, threshold: float) -> pg.InfiniteLine:
    """Histogram of the share of days missing, one curve per class, and a draggable threshold.

    ``threshold`` is in percent of days; the returned line is the one the user drags, for the
    caller to tie to its spin box.
    """
    chart.set_title("Share of days missing per customer")
    plot = chart.add_plot(title="")
    plot.setLabel("bottom", "days missing (%)")
    plot.setLabel("left", "customers")
    share = 100 * np.asarray(missing_share)
    labels = np.asarray(labels)
    edges = np.linspace(0, 100, 101)
    groups = [("normal", NORMAL), ("theft", THEFT)]
    if (labels == UNKNOWN).any():
        groups.append(("unlabelled", UNKNOWN))
    for word, value in groups:
        counts, _ = np.histogram(share[labels == value], bins=edges)
        if not counts.any():
            continue
        colour = theme.CLASS_COLOURS.get(word, theme.CUSTOMER_COLOUR)
        plot.addItem(
            pg.PlotDataItem(
                edges,
                counts,
                stepMode="center",
                fillLevel=0,
                pen=plots.pen(colour),
                name=word,
                brush=theme.band_colour(colour, 80),
            )
        )
    line = pg.InfiniteLine(
        threshold,
        angle=90,
        movable=True,
        pen=plots.pen(theme.FENCE_COLOUR, 2),
        label="threshold",
        labelOpts={"position": 0.9, "color": theme.FENCE_COLOUR},
    )
    plot.addItem(line)
    chart.set_note(
        "Drag the yellow line or type the threshold. Zero days count as "
        "missing when the box above is ticked."
    )
    chart.finish()
    return line


def draw_fences(chart, values, days, customer_id, rule: str, factor: float, log: bool) -> None:
    """One customer's readings as imported: a box plot with the fences and the series in time,
    the readings outside the fences marked. ``values`` are the customer's daily kWh."""
    lower, upper = outlier_fences(values[None, :], rule, factor)
    lo, hi = float(lower[0]), float(upper[0])
    ty = log_y if log else (lambda v: np.asarray(v, dtype=float))
    chart.set_title(f"Customer {customer_id}")
    box = chart.add_plot(0, 0, "box plot and fences", legend=False, clip=False)
    series = chart.add_plot(
        0, 1, "readings, outside the fences marked", dates=True, colspan=3, clip=False
    )
    for plot in (box, series):
        plot.getAxis("left").setLogMode(False, log)
    present = values[np.isfinite(values)]
    if not len(present):
        chart.set_note("This customer has no readings.")
        return
    q1, med, q3 = np.percentile(present, [25, 50, 75])
    _draw_box(box, present, q1, med, q3, lo, hi, ty)
    x = plots.day_seconds(days)
    plots.curve(series, x, ty(values), theme.NORMAL_COLOUR, "readings", width=1.2)
    outside = np.isfinite(values) & ((values < lo) | (values > hi))
    if outside.any():
        series.addItem(
            pg.PlotDataItem(
                x[outside],
                ty(values[outside]),
                pen=None,
                symbol="o",
                symbolSize=9,
                symbolPen=None,
                symbolBrush=theme.CAPPED_COLOUR,
                name="outside the fences",
            )
        )
    for value, name in ((hi, "upper fence"), (lo, "lower fence")):
        if np.isfinite(value) and (value > 0 or not log):
            series.addItem(
                pg.InfiniteLine(
                    float(ty(value)),
                    angle=0,
                    label=name,
                    pen=plots.pen(theme.FENCE_COLOUR, 1.5, Qt.PenStyle.DashLine),
                    labelOpts={"position": 0.05, "color": theme.FENCE_COLOUR},
                )
            )
    chart.graphics.ci.layout.setColumnStretchFactor(0, 1)
    chart.graphics.ci.layout.setColumnStretchFactor(1, 4)
    note = (
        f"Q1 {q1:.2f}, median {med:.2f}, Q3 {q3:.2f} kWh; fences {lo:.2f} and "
        f"{hi:.2f} kWh; {int(outside.sum())} readings outside."
    )
    if log:
        note += f" Log scale: readings under {LOG_FLOOR} kWh (zeros) are drawn at {LOG_FLOOR}."
    chart.set_note(note)


def draw_before_after(chart, customer_id, days, before, after, imputed=None, capped=None) -> None:
    """A customer's readings as imported and cleaned; ``imputed`` and ``capped`` are boolean
    masks over the days (None when the result carries no masks)."""
    chart.set_title(f"Customer {customer_id}: before and after")
    plot = chart.add_plot(dates=True)
    x = plots.day_seconds(days)
    plots.curve(plot, x, before, theme.RAW_COLOUR, "as imported", width=2.2)
    plots.curve(plot, x, after, theme.NORMAL_COLOUR, "cleaned", width=1.6)
    if imputed is not None and imputed.any():
        plot.addItem(
            pg.ScatterPlotItem(
                x[imputed],
                after[imputed],
                size=6,
                pen=None,
                brush=pg.mkBrush(theme.IMPUTED_COLOUR),
                name=f"imputed ({int(imputed.sum())})",
            )
        )
    if capped is not None and capped.any():
        plot.addItem(
            pg.ScatterPlotItem(
                x[capped],
                after[capped],
                size=7,
                pen=None,
                symbol="t",
                name=f"outlier ({int(capped.sum())})",
                brush=pg.mkBrush(theme.CAPPED_COLOUR),
            )
        )
    plot.setLabel("left", "kWh")
    chart.finish()


def _draw_box(plot, values, q1, med, q3, lo, hi, ty) -> None:
    """A box plot at x=0: box Q1..Q3, median, whiskers to the last readings inside the fences,
    the fences dashed, readings outside them as points. ``ty`` maps kWh to the y axis."""
    inside = values[(values >= lo) & (values <= hi)] if np.isfinite(lo) else values
    w_lo, w_hi = (inside.min(), inside.max()) if len(inside) else (q1, q3)
    colour = theme.NORMAL_COLOUR
    b_lo, b_hi = float(ty(q1)), float(ty(q3))
    plot.addItem(
        pg.BarGraphItem(
            x=[0],
            y0=[b_lo],
            height=[max(b_hi - b_lo, 1e-9)],
            width=0.5,
            brush=theme.band_colour(colour, 90),
            pen=plots.pen(colour),
        )
    )
    fg = theme.plot_foreground().name()
    plot.plot([-0.25, 0.25], ty([med, med]), pen=plots.pen(fg, 2))
    plot.plot([0, 0], ty([q3, w_hi]), pen=plots.pen(fg, 1))
    plot.plot([0, 0], ty([w_lo, q1]), pen=plots.pen(fg, 1))
    plot.plot([-0.12, 0.12], ty([w_hi, w_hi]), pen=plots.pen(fg, 1))
    plot.plot([-0.12, 0.12], ty([w_lo, w_lo]), pen=plots.pen(fg, 1))
    outside = values[(values < lo) | (values > hi)]
    if len(outside):
        plot.plot(
            np.zeros(len(outside)),
            ty(outside),
            pen=None,
            symbol="o",
            symbolSize=8,
            symbolPen=None,
            symbolBrush=theme.CAPPED_COLOUR,
        )
    for value in (lo, hi):
        if np.isfinite(value) and float(ty(value)) == float(ty(value)):
            if value <= 0 and ty is log_y:
                continue
            plot.addItem(
                pg.InfiniteLine(
                    float(ty(value)),
                    angle=0,
                    pen=plots.pen(theme.FENCE_COLOUR, 1.5, Qt.PenStyle.DashLine),
                )
            )
    plot.setXRange(-0.6, 0.6)
    plot.getAxis("bottom").setTicks([[(0, "kWh")], []])
