"""The rhythm of one curve: autocorrelation with its confidence band, and STL decomposition.

The curve is a class mean per day or one customer's readings (see :mod:`core.explore.groups`).
Both tools misbehave on gaps and on flat curves, so before either runs:

- days missing at the start or end of the window are dropped (the result's ``days`` say which
  remain), and gaps inside it are filled by straight lines between the neighbouring readings;
  ``filled`` marks those days and a note counts them;
- a window with fewer than half its days read, or too few readings for the tool, and a
  constant curve, give an "undefined" result with the reason instead of numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData
from core.errors import EtdError
from core.explore.groups import ExploreResult, Group, day_window, for_each_group, group_curve
from core.tasks import TaskState

log = logging.getLogger(__name__)

MIN_ACF_READINGS = 8


@dataclass(kw_only=True)
class Autocorrelation(ExploreResult):
    """Autocorrelation per lag (lag 0 first) with the (1 - alpha) interval around each value.

    ``lower`` and ``upper`` are statsmodels' Bartlett interval around each ``acf`` value;
    ``band`` is its half-width, i.e. the band around 0 that a lag must leave to be significant
    (what an ACF plot shades).
    """

    lags: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    acf: np.ndarray = field(default_factory=lambda: np.empty(0))
    lower: np.ndarray = field(default_factory=lambda: np.empty(0))
    upper: np.ndarray = field(default_factory=lambda: np.empty(0))
    alpha: float = 0.05
    days: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    filled: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def band(self) -> np.ndarray:
        return self.upper - self.acf


@dataclass(kw_only=True)
class Decomposition(ExploreResult):
    """STL components of a curve: ``observed = trend + seasonal + residual`` per day."""

    period: int = 7
    days: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    observed: np.ndarray = field(default_factory=lambda: np.empty(0))
    trend: np.ndarray = field(default_factory=lambda: np.empty(0))
    seasonal: np.ndarray = field(default_factory=lambda: np.empty(0))
    residual: np.ndarray = field(default_factory=lambda: np.empty(0))
    filled: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))


def autocorrelation(
    data: ConsumptionData,
    group: str = "both",
    *,
    start=None,
    days: int | None = None,
    nlags: int | None = None,
    alpha: float = 0.05,
    state: TaskState | None = None,
) -> Autocorrelation | dict[str, Autocorrelation]:
    """Autocorrelation of the group's curve over a window (``days=None``: to the last day).

    ``nlags`` defaults to half the window, at most 60 days, so a weekly rhythm shows several
    times over.
    """
    from statsmodels.tsa.stattools import acf

    if not 0.0 < alpha < 1.0:
        raise EtdError(f"alpha must lie between 0 and 1, not {alpha}.", hint="Use 0.05.")
    columns, notes = day_window(data, start, days)

    def compute(g: Group, part: TaskState) -> Autocorrelation:
        base = {"group": g.key, "label": g.label, "alpha": alpha}
        curve, _ = group_curve(data, g, columns, state=part)
        prepared = _prepare(curve, data.days[columns], g, "autocorrelation", MIN_ACF_READINGS)
        if isinstance(prepared, str):
            return Autocorrelation(**base, defined=False, reason=prepared)
        values, kept_days, filled, fill_notes = prepared

        lags = nlags if nlags is not None else min(len(values) // 2, 60)
        lags = max(1, min(int(lags), len(values) - 1))
        result_notes = list(notes) + fill_notes
        if nlags is not None and lags < nlags:
            result_notes.append(f"only {lags} lags fit in {len(values)} days")
        values_acf, interval = _acf_with_interval(acf, values, lags, alpha)
        return Autocorrelation(
            **base,
            notes=result_notes,
            lags=np.arange(lags + 1),
            acf=values_acf,
            lower=interval[:, 0],
            upper=interval[:, 1],
            days=kept_days,
            filled=filled,
        )

    return for_each_group(data, group, compute, state)


def decompose(
    data: ConsumptionData,
    group: str = "both",
    *,
    period: int = 7,
    robust: bool = False,
    start=None,
    days: int | None = None,
    state: TaskState | None = None,
) -> Decomposition | dict[str, Decomposition]:
    """STL decomposition (statsmodels) of the group's curve with a ``period`` in days.

    7 shows the weekly rhythm; ``robust=True`` keeps single spikes out of trend and season.
    At least two full periods of readings are needed.
    """
    from statsmodels.tsa.seasonal import STL

    if int(period) < 2:
        raise EtdError(f"an STL period of {period} days is too short.", hint="Use 2 or more.")
    period = int(period)
    columns, notes = day_window(data, start, days)

    def compute(g: Group, part: TaskState) -> Decomposition:
        base = {"group": g.key, "label": g.label, "period": period}
        curve, _ = group_curve(data, g, columns, state=part)
        prepared = _prepare(curve, data.days[columns], g, "STL decomposition", 2 * period + 1)
        if isinstance(prepared, str):
            return Decomposition(**base, defined=False, reason=prepared)
        values, kept_days, filled, fill_notes = prepared

        part.check()
        fit = STL(values, period=period, robust=robust).fit()
        return Decomposition(
            **base,
            notes=list(notes) + fill_notes,
            days=kept_days,
            observed=values,
            trend=np.asarray(fit.trend, dtype=np.float64),
            seasonal=np.asarray(fit.seasonal, dtype=np.float64),
            residual=np.asarray(fit.resid, dtype=np.float64),
            filled=filled,
        )

    return for_each_group(data, group, compute, state)


def _prepare(curve: np.ndarray, days: pd.DatetimeIndex, g: Group, tool: str, minimum: int):
    """Trim, check and gap-fill a curve; a reason string when ``tool`` cannot run on it."""
    if g.is_empty:
        return g.empty_reason()
    name = g.series_name()
    are, have = ("are", "have") if g.is_customer else ("is", "has")
    read = np.flatnonzero(np.isfinite(curve))
    if len(read) < minimum:
        return (
            f"{name} {have} only {len(read)} readings in the chosen days; {tool} needs at "
            f"least {minimum}"
        )
    if len(read) < len(curve) / 2:
        return (
            f"{name} {have} readings on only {len(read)} of {len(curve)} days; {tool} of a "
            "mostly filled-in curve would show the filling, not the consumption. Pick a window "
            "with more readings"
        )
    lo, hi = read[0], read[-1] + 1
    values = curve[lo:hi]
    filled = ~np.isfinite(values)
    if filled.any():
        where = np.arange(len(values))
        values = values.copy()
        values[filled] = np.interp(where[filled], where[~filled], values[~filled])
    if np.ptp(values) == 0:
        return f"{name} {are} constant (all {values[0]:.1f} kWh): {tool} is undefined"

    notes = []
    if lo > 0 or hi < len(curve):
        notes.append(
            f"{lo + len(curve) - hi} day(s) without readings at the edges of the window were left"
            " out"
        )
    if filled.any():
        notes.append(f"{int(filled.sum())} day(s) without readings were filled by interpolation")
    return values, days[lo:hi], filled, notes


def _acf_with_interval(acf, values: np.ndarray, nlags: int, alpha: float):
    """statsmodels' acf and its interval, on old and new statsmodels alike."""
    try:
        out = acf(values, nlags=nlags, alpha=alpha, fft=True, result_object=True)
        return np.asarray(out.acf), np.asarray(out.confint)
    except TypeError:  # statsmodels before 0.15 returns a tuple and knows no result_object
        values_acf, interval = acf(values, nlags=nlags, alpha=alpha, fft=True)
        return np.asarray(values_acf), np.asarray(interval)
