"""Outlying readings per customer: fences, flags and what to do with them.

Rules, each on a customer's own readings (so nothing is learned across customers, and the same
rule applies unchanged to new customers):

- ``"iqr"`` (the reference): fences at ``Q1 - factor * IQR`` and ``Q3 + factor * IQR`` with the
  quartiles interpolated linearly (numpy's default); factor 1.5 marks minor outliers, 3 extreme
  ones. The report counts both, whatever factor is chosen.
- ``"sigma"``: fences at ``mean -/+ factor * standard deviation`` (population deviation).

Treatments: ``"keep"`` (flag only), ``"cap"`` (clip the reading to the fence it crossed),
``"missing"`` (empty the reading so the imputation fills it), ``"drop"`` (drop every customer
with a flagged reading).

Where the published IQR rule breaks: a customer whose readings are mostly one value (mostly
zero, or a meter flattened or capped by a thief) has an IQR of zero, both fences sit on that
value and every other reading would be "outlying"; capping would rewrite them all and erase
the very pattern a model should see. The rule is meant to catch only true extremes (hundreds
of times a customer's usual level), so when a customer's IQR is under ``DEGENERATE_SHARE``
(a tenth) of its level, the median of its non-zero readings in absolute value, its fences use
that level as the spread instead: ``Q1 - factor * level`` and ``Q3 + factor * level``. Ordinary
customers have an IQR far above a tenth of their level and keep the published fences; the
report counts the customers that used the level (``fallback_customers``).
"""

from __future__ import annotations

import logging

import numpy as np

from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

OUTLIER_RULES = ("iqr", "sigma")
OUTLIER_TREATMENTS = ("keep", "cap", "missing", "drop")
MINOR_FACTOR = 1.5
EXTREME_FACTOR = 3.0
# An IQR under this share of the customer's median non-zero reading gives degenerate fences.
DEGENERATE_SHARE = 0.1


def row_quantiles(kwh: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of each row ignoring NaN, linear interpolation: shape (len(qs), rows).

    Same values as ``np.nanpercentile(row, 100 * q)`` row by row, computed for all rows at
    once. Rows without readings give NaN.
    """
    ordered = np.sort(kwh, axis=1)  # NaN sort last
    counts = (~np.isnan(kwh)).sum(axis=1)
    rows = np.arange(kwh.shape[0])
    last = np.maximum(counts - 1, 0)
    out = np.full((len(qs), kwh.shape[0]), np.nan)
    for i, q in enumerate(qs):
        position = q * last
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, last)
        share = position - below
        low = ordered[rows, below].astype(np.float64)
        high = ordered[rows, above].astype(np.float64)
        value = low + (high - low) * share
        out[i] = np.where(counts > 0, value, np.nan)
    return out


def outlier_fences(
    kwh: np.ndarray, rule: str = "iqr", factor: float = EXTREME_FACTOR
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper fence of each customer (float64 arrays, NaN without readings)."""
    if rule not in OUTLIER_RULES:
        raise ValueError(f"unknown outlier rule {rule!r}; choose one of {OUTLIER_RULES}")
    if rule == "iqr":
        q1, q3 = row_quantiles(kwh, (0.25, 0.75))
        spread, _ = _iqr_spread(q1, q3, customer_level(kwh))
        return _iqr_fences(q1, q3, spread, factor)
    values = kwh.astype(np.float64)
    with np.errstate(invalid="ignore"):
        count = (~np.isnan(values)).sum(axis=1)
        mean = np.where(count > 0, np.nansum(values, axis=1) / np.maximum(count, 1), np.nan)
        centred = np.where(np.isnan(values), 0.0, values - mean[:, None])
        spread = np.sqrt((centred**2).sum(axis=1) / np.maximum(count, 1))
    return mean - factor * spread, mean + factor * spread


def customer_level(kwh: np.ndarray) -> np.ndarray:
    """Median of each customer's non-zero readings in absolute value (0 without any)."""
    magnitude = np.abs(kwh.astype(np.float64))
    magnitude[magnitude == 0] = np.nan
    (level,) = row_quantiles(magnitude, (0.5,))
    return np.nan_to_num(level, nan=0.0)


def _iqr_spread(q1, q3, level):
    """The IQR, or the customer's level where the IQR is degenerate; and where that happened."""
    spread = q3 - q1
    with np.errstate(invalid="ignore"):
        fallback = spread < DEGENERATE_SHARE * level
    return np.where(fallback, level, spread), fallback


def _iqr_fences(q1, q3, spread, factor):
    return q1 - factor * spread, q3 + factor * spread


def _beyond(kwh, low, high):
    with np.errstate(invalid="ignore"):
        return (kwh < low[:, None]) | (kwh > high[:, None])


def flag_outliers(
    kwh: np.ndarray, rule: str = "iqr", factor: float = EXTREME_FACTOR
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mask of readings outside the fences, lower fences, upper fences)``."""
    low, high = outlier_fences(kwh, rule, factor)
    return _beyond(kwh, low, high), low, high


def treat_outliers(
    kwh: np.ndarray,
    rule: str = "iqr",
    factor: float = EXTREME_FACTOR,
    treatment: str = "cap",
    state: TaskState | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Flag the outlying readings of each customer and apply ``treatment``.

    Returns ``(treated kwh, flagged mask, customers to drop, report)``. For ``"missing"`` the
    flagged readings come back as NaN for the caller to impute; for ``"drop"`` the readings are
    unchanged and the third array marks the customers to drop (every other treatment gives an
    all-False one).
    """
    if treatment not in OUTLIER_TREATMENTS:
        raise ValueError(
            f"unknown outlier treatment {treatment!r}; choose one of {OUTLIER_TREATMENTS}"
        )
    state = ensure_state(state)
    state.set_status("Looking for outlying readings")
    if rule == "iqr":
        q1, q3 = row_quantiles(kwh, (0.25, 0.75))
        spread, fallback = _iqr_spread(q1, q3, customer_level(kwh))
        low, high = _iqr_fences(q1, q3, spread, factor)
        mask = _beyond(kwh, low, high)
    else:
        mask, low, high = flag_outliers(kwh, rule, factor)
    treated = kwh.copy()
    if treatment == "cap":
        with np.errstate(invalid="ignore"):
            np.clip(treated, low[:, None], high[:, None], out=treated, where=mask)
    elif treatment == "missing":
        treated[mask] = np.nan
    drop = mask.any(axis=1) if treatment == "drop" else np.zeros(len(kwh), dtype=bool)

    report = {
        "rule": rule,
        "factor": float(factor),
        "treatment": treatment,
        "flagged_cells": int(mask.sum()),
        "flagged_customers": int(mask.any(axis=1).sum()),
        "above_fence": int((mask & (kwh > high[:, None])).sum()),
        "below_fence": int((mask & (kwh < low[:, None])).sum()),
        "customers_dropped": int(drop.sum()),
    }
    if rule == "iqr":
        # Both classic levels, whatever factor was chosen, so the user can compare them.
        for name, level in (("minor", MINOR_FACTOR), ("extreme", EXTREME_FACTOR)):
            fences = _iqr_fences(q1, q3, spread, level)
            report[f"{name}_cells"] = int(_beyond(kwh, *fences).sum())
        report["degenerate_share"] = DEGENERATE_SHARE
        report["fallback_customers"] = int(fallback.sum())
    state.set_progress(1.0)
    log.info(
        "outliers (%s, factor %.2f, %s): %d readings of %d customers",
        rule,
        factor,
        treatment,
        report["flagged_cells"],
        report["flagged_customers"],
    )
    return treated, mask, drop, report
