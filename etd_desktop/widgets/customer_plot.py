"""One customer's readings next to the normal customers: daily, monthly, by weekday.

:class:`CustomerReference` holds what every customer is compared with (the normal-class mean,
its 10-90 percentile band, the month and weekday of each day), computed once per data set.
:class:`CustomerPlot` makes its plot items once and only calls ``setData`` when the selected
customer changes, so moving through the list with the keyboard redraws in milliseconds.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.dataset import NORMAL, ConsumptionData
from etd_desktop import theme
from etd_desktop.widgets.plots import ChartPanel, category_axis, day_seconds, pen

log = logging.getLogger(__name__)

BAND_SAMPLE = 3000  # normal customers sampled for the percentile band
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class CustomerReference:
    """Per-data-set arrays the plot reuses for every customer."""

    x: np.ndarray  # day positions in seconds (date axis)
    normal_mean: np.ndarray
    normal_low: np.ndarray  # 10th percentile per day
    normal_high: np.ndarray  # 90th percentile per day
    month_codes: np.ndarray  # month number of each day, 0..n_months-1
    month_labels: list[str]
    weekday: np.ndarray  # 0 = Monday
    normal_weekday: np.ndarray
    normal_monthly: np.ndarray

    @classmethod
    def of(cls, data: ConsumptionData, seed: int = 0) -> CustomerReference:
        kwh = data.kwh
        normal = np.flatnonzero(data.labels == NORMAL)
        if len(normal) == 0:  # unlabelled data: compare with everybody
            normal = np.arange(data.n_customers)
        if len(normal) > BAND_SAMPLE:
            normal = np.sort(np.random.default_rng(seed).choice(normal, BAND_SAMPLE, replace=False))
        sample = kwh[normal].astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN days stay NaN
            mean = np.nanmean(sample, axis=0)
            low, high = np.nanpercentile(sample, [10, 90], axis=0)
        periods = data.days.to_period("M")
        codes, uniques = periods.factorize()
        weekday = np.asarray(data.days.day_of_week)
        return cls(
            x=day_seconds(data.days),
            normal_mean=mean,
            normal_low=low,
            normal_high=high,
            month_codes=np.asarray(codes),
            month_labels=[str(p) for p in uniques],
            weekday=weekday,
            normal_weekday=weekday_profile(mean, weekday),
            normal_monthly=monthly_totals(mean, np.asarray(codes), len(uniques)),
        )


def monthly_totals(values: np.ndarray, codes: np.ndarray, n_months: int) -> np.ndarray:
    """Sum of the readings per month (missing days count as nothing)."""
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.bincount(codes, weights=v, minlength=n_months)


def weekday_profile(values: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Mean reading per weekday over the days with a reading (NaN for none)."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    sums = np.bincount(weekday[ok], weights=v[ok], minlength=7)
    counts = np.bincount(weekday[ok], minlength=7)
    with np.errstate(all="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass
class CustomerView:
    """What is drawn for one customer."""

    customer: str
    raw: np.ndarray  # readings as imported (NaN missing)
    cleaned: np.ndarray | None = None  # after cleaning (None when not cleaned)
    imputed: np.ndarray | None = None  # bool per day
    outliers: np.ndarray | None = None  # bool per day
    score: float | None = None
    rank: int | None = None
    n_ranked: int = 0
    label: str = ""


class CustomerPlot(QWidget):
    """Daily readings with gaps, imputed points and outliers; monthly totals; weekdays."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.reference: CustomerReference | None = None
        self.panel = ChartPanel(clip=True, log_toggle=False)
        self.daily = self.panel.add_plot(0, 0, "Daily kWh", dates=True, colspan=2)
        self.monthly = self.panel.add_plot(1, 0, "Monthly totals (kWh)", clip=False, legend=False)
        self.weekly = self.panel.add_plot(
            1, 1, "Weekday profile (mean kWh)", clip=False, legend=False
        )
        self.panel.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.panel.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.heading = QLabel("Select a customer in the list.")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.heading.setFont(font)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.panel, 1)
        self.panel.set_note(
            "Green: this customer; blue line and band: the normal customers' mean and their "
            "10th-90th percentile range. Imputed: readings filled in by the cleaning; outlier: "
            "outside the customer's IQR fences; grey ticks at zero: days without a reading."
        )
        self.last_draw_ms = 0.0
        self._make_items()

    def _make_items(self) -> None:
        normal, customer = theme.NORMAL_COLOUR, theme.CUSTOMER_COLOUR
        self.band_low = pg.PlotDataItem(pen=None)
        self.band_high = pg.PlotDataItem(pen=None)
        self.band = pg.FillBetweenItem(
            self.band_low, self.band_high, brush=pg.mkBrush(theme.band_colour(normal, 50))
        )
        self.daily.addItem(self.band_low)
        self.daily.addItem(self.band_high)
        self.daily.addItem(self.band)
        # One-pixel pens without antialiasing: Qt's raster engine strokes them many times
        # faster than wide smooth ones, which keeps a redraw of 1,035 days under 50 ms.
        self.panel.graphics.setAntialiasing(False)
        self.daily.legend.setColumnCount(3)  # two short rows instead of one tall column
        self.daily.legend.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(10, 2))
        self.daily.legend.setBrush(
            pg.mkBrush(theme.band_colour(theme.plot_background().name(), 210))
        )
        self.mean_curve = self.daily.plot(pen=pen(normal, 1), name="normal: mean", antialias=False)
        self.daily.legend.addItem(
            pg.BarGraphItem(x=[0], height=[0], width=1, brush=theme.band_colour(normal, 50)),
            "normal: 10-90th pct",
        )
        self.raw_curve = self.daily.plot(
            pen=pen(customer, 1), name="this customer", antialias=False, connect="finite"
        )
        self.imputed_points = self.daily.plot(
            pen=None,
            symbol="o",
            symbolSize=5,
            symbolBrush=theme.IMPUTED_COLOUR,
            symbolPen=pg.mkPen("#1b5e46"),
            name="imputed",
        )
        self.outlier_points = self.daily.plot(
            pen=None,
            symbol="x",
            symbolSize=10,
            symbolPen=pg.mkPen(theme.CAPPED_COLOUR, width=2),
            name="outlier",
        )
        self.gap_points = self.daily.plot(
            pen=None,
            symbol="|",
            symbolSize=9,
            symbolPen=pg.mkPen("#8a8a8a", width=1.5),
            name="no reading",
        )
        self.month_bars = pg.BarGraphItem(
            x=[], height=[], width=0.7, brush=pg.mkBrush(customer), name="this customer"
        )
        self.monthly.addItem(self.month_bars)
        self.month_normal = self.monthly.plot(
            pen=pen(normal, 2), symbol="o", symbolSize=4, symbolBrush=normal, name="normal mean"
        )
        self.week_bars = pg.BarGraphItem(
            x=np.arange(7),
            height=np.zeros(7),
            width=0.6,
            brush=pg.mkBrush(customer),
            name="this customer",
        )
        self.weekly.addItem(self.week_bars)
        self.week_normal = self.weekly.plot(
            np.arange(7),
            np.zeros(7),
            pen=pen(normal, 2),
            symbol="o",
            symbolBrush=normal,
            name="normal mean",
        )
        category_axis(self.weekly, list(WEEKDAYS))

    def set_reference(self, reference: CustomerReference) -> None:
        """Draw the per-data-set parts (band, mean, month axis) once."""
        self.reference = reference
        self.band_low.setData(reference.x, reference.normal_low, connect="finite")
        self.band_high.setData(reference.x, reference.normal_high, connect="finite")
        self.mean_curve.setData(reference.x, reference.normal_mean, connect="finite")
        months = np.arange(len(reference.month_labels))
        self.month_normal.setData(months, reference.normal_monthly)
        self.week_normal.setData(np.arange(7), np.nan_to_num(reference.normal_weekday))
        ticks = [
            (i, text[:4])
            for i, text in enumerate(reference.month_labels)
            if i == 0 or text.endswith("-01")
        ]
        self.monthly.getAxis("bottom").setTicks([ticks, []])
        self.daily.setXRange(reference.x[0], reference.x[-1], padding=0.01)
        self.daily.disableAutoRange(axis="x")

    def show_customer(self, view: CustomerView) -> float:
        """Redraw for ``view``; returns the milliseconds it took."""
        started = time.perf_counter()
        ref = self.reference
        raw = np.asarray(view.raw, dtype=float)
        self.raw_curve.setData(ref.x, raw, connect="finite")
        shown = view.cleaned if view.cleaned is not None else raw
        for item, mask in (
            (self.imputed_points, view.imputed),
            (self.outlier_points, view.outliers),
        ):
            if mask is None or not mask.any():
                item.setData([], [])
            else:
                y = np.where(np.isfinite(raw) & (item is self.outlier_points), raw, shown)
                item.setData(ref.x[mask], y[mask])
        gaps = ~np.isfinite(raw)
        self.gap_points.setData(ref.x[gaps], np.zeros(int(gaps.sum())))
        n_months = len(ref.month_labels)
        self.month_bars.setOpts(
            x=np.arange(n_months), height=monthly_totals(shown, ref.month_codes, n_months)
        )
        self.week_bars.setOpts(height=np.nan_to_num(weekday_profile(shown, ref.weekday)))
        self.panel.finish()
        score = "-" if view.score is None or np.isnan(view.score) else f"{view.score:.4f}"
        rank = f"rank {view.rank:,} of {view.n_ranked:,}" if view.rank else "not scorable"
        label = f", label: {view.label}" if view.label else ""
        self.heading.setText(f"{view.customer}: theft score {score}, {rank}{label}")
        self.last_draw_ms = (time.perf_counter() - started) * 1000
        return self.last_draw_ms
