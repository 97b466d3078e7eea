"""Linear interpolation of missing readings along time, one customer at a time.

This is what most published work on SGCC does. A gap between two readings is filled on the
straight line between them; a gap at the start or the end of a customer's history takes the
nearest reading (no extrapolated trend). A customer with no readings stays NaN.
"""

from __future__ import annotations

import logging

import numpy as np

from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)


def interpolate_linear(
    kwh: np.ndarray,
    state: TaskState | None = None,
    *,
    days: np.ndarray | None = None,
) -> np.ndarray:
    """A copy of ``kwh`` (customers x days) with each customer's NaN filled along time.

    ``days`` limits the filling to those day columns (a boolean mask or indices); readings of
    other days still serve as the ends of the line. Rows without any reading are left as they
    are.
    """
    state = ensure_state(state)
    kwh = np.asarray(kwh)
    out = kwh.copy()
    missing = np.isnan(kwh)
    target = missing
    if days is not None:
        allowed = np.zeros(kwh.shape[1], dtype=bool)
        allowed[days] = True
        target = missing & allowed
    rows = np.flatnonzero(target.any(axis=1) & ~missing.all(axis=1))
    positions = np.arange(kwh.shape[1], dtype=np.float64)

    for done, row in enumerate(rows):
        if done % 2000 == 0:
            state.check()
            state.set_progress(done / max(1, len(rows)))
        have = ~missing[row]
        want = target[row]
        out[row, want] = np.interp(positions[want], positions[have], kwh[row, have])
    state.set_progress(1.0)
    log.debug("linear interpolation filled %d cells of %d customers", target.sum(), len(rows))
    return out
