"""Pearson correlation between days, across the customers of a class.

Entry (i, j) says how similarly the customers of a class ranked on day i and day j: normal
customers give a bright, banded matrix (weekly rhythm, seasons), thieves a paler one.

Missing readings are handled one of two ways (``missing=``):

- ``"pairwise"`` (default): each pair of days uses only the customers read on both days, the
  classic pairwise-complete correlation. Faithful, but each entry rests on a different set of
  customers, so the matrix need not be positive semi-definite. Four matrix products.
- ``"mean_fill"``: a missing reading counts as that day's class mean. One matrix product, so
  about four times faster on all 1,035 days; it pulls correlations towards 0 on days with many
  gaps, because a filled reading varies with nothing.

When the class has no gap in the window the two agree and the faster path is taken.
Entries resting on fewer than :data:`MIN_PAIRS` customers (read on both days; with
``"mean_fill"``, read that day), and rows of days on which every customer read the same (zero
variance), are NaN and named in ``notes``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData
from core.errors import EtdError
from core.explore.groups import (
    CHUNK_ROWS,
    ExploreResult,
    Group,
    day_window,
    for_each_group,
    group_curve,
)
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

MISSING_RULES = ("pairwise", "mean_fill")
MIN_PAIRS = 3


@dataclass(kw_only=True)
class DayCorrelation(ExploreResult):
    """A days x days Pearson matrix (float32, NaN where undefined) for one class."""

    days: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    matrix: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))
    missing: str = "pairwise"
    customers: int = 0
    undefined_days: list[str] = field(default_factory=list)


def day_correlation(
    data: ConsumptionData,
    group: str = "both",
    *,
    start=None,
    days: int | None = 28,
    missing: str = "pairwise",
    state: TaskState | None = None,
) -> DayCorrelation | dict[str, DayCorrelation]:
    """Correlation matrix of the ``days`` days from ``start`` (``days=None``: all days)."""
    if missing not in MISSING_RULES:
        raise EtdError(f"unknown missing-reading rule {missing!r}.", hint=f"Use {MISSING_RULES}.")
    columns, notes = day_window(data, start, days)
    window = data.days[columns]

    def compute(g: Group, part: TaskState) -> DayCorrelation:
        base = {"group": g.key, "label": g.label, "missing": missing}
        if g.is_empty:
            return DayCorrelation(**base, defined=False, reason=g.empty_reason())
        if g.is_customer:
            reason = (
                "a correlation between days is taken across the customers of a class; one "
                "customer has a single reading per day, so it is undefined. Pick a class."
            )
            return DayCorrelation(**base, defined=False, reason=reason)
        if len(g.rows) < MIN_PAIRS:
            reason = (
                f"the {g.label} number {len(g.rows)}; a correlation between days needs at "
                f"least {MIN_PAIRS} customers"
            )
            return DayCorrelation(**base, defined=False, reason=reason)

        started = time.monotonic()
        centre, readings = group_curve(data, g, columns, state=part.child(0.0, 0.1))
        rule = missing if (readings < len(g.rows)).any() else "mean_fill"
        matrix = _correlate(data.kwh, g.rows, columns, centre, readings, rule, part.child(0.1, 1.0))
        log.info(
            "day correlation of %s: %d customers x %d days (%s) in %.1f s",
            g.key,
            len(g.rows),
            len(window),
            rule,
            time.monotonic() - started,
        )
        return _finish(
            DayCorrelation(**base, notes=list(notes), customers=len(g.rows)), matrix, window, g
        )

    return for_each_group(data, group, compute, state)


def _correlate(
    kwh: np.ndarray,
    rows: np.ndarray,
    columns: slice,
    centre: np.ndarray,
    readings: np.ndarray,
    missing: str,
    state: TaskState,
) -> np.ndarray:
    """Accumulate the products of centred readings chunk by chunk and form the correlations.

    Centring on the class mean per day keeps the float32 products small, so subtracting
    sums of similar size loses little precision; the chunk sums are added up in float64.
    """
    state = ensure_state(state)
    n = len(centre)
    shift = np.nan_to_num(centre).astype(np.float32)
    cross = np.zeros((n, n))
    if missing == "pairwise":
        first = np.zeros((n, n))  # sum over the common customers of day i's centred reading
        second = np.zeros((n, n))  # same, of its square
        pairs = np.zeros((n, n))
    for begin in range(0, len(rows), CHUNK_ROWS):
        state.check()
        block = kwh[rows[begin : begin + CHUNK_ROWS], columns] - shift
        present = ~np.isnan(block)
        block = np.where(present, block, np.float32(0.0))
        cross += block.T @ block
        if missing == "pairwise":
            mask = present.astype(np.float32)
            first += block.T @ mask
            second += (block * block).T @ mask
            pairs += mask.T @ mask
        state.set_progress(min(1.0, (begin + CHUNK_ROWS) / len(rows)))
    if missing == "mean_fill":
        # Zero-filled centred readings are mean-filled readings; plain Pearson on those.
        std = np.sqrt(np.diag(cross))
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = cross / np.outer(std, std)
        scarce = readings < MIN_PAIRS
        too_few = scarce[:, None] | scarce[None, :]
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = pairs * cross - first * first.T
            var_i = pairs * second - first**2
            matrix = cov / np.sqrt(var_i * var_i.T)
        too_few = pairs < MIN_PAIRS
    matrix[too_few] = np.nan
    return np.clip(matrix, -1.0, 1.0).astype(np.float32)


def _finish(result: DayCorrelation, matrix: np.ndarray, window: pd.DatetimeIndex, g: Group):
    """Name the days whose row is undefined; an entirely undefined matrix is "undefined"."""
    np.fill_diagonal(matrix, np.where(np.isnan(np.diag(matrix)), np.nan, 1.0))
    dead = np.isnan(matrix).all(axis=1)
    if dead.all():
        result.defined = False
        result.reason = (
            f"on every chosen day the {g.label} read alike (or too few were read), so the "
            "correlation between days is undefined"
        )
        return result
    result.days = window
    result.matrix = matrix
    if dead.any():
        names = [d.date().isoformat() for d in window[dead]]
        result.undefined_days = names
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        result.notes.append(
            f"{len(names)} day(s) have no correlation (every customer read the same, or too "
            f"few were read): {shown}"
        )
    return result
