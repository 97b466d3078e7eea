"""How much of each customer's history is missing, and the filter that drops the worst.

A day counts as missing when it has no reading, and, with ``zeros_as_missing`` (the default, as
in the reference study), also when the reading is zero: a meter that reports nothing but zeros
for weeks says as little as one that reports nothing. Only the filter reads zeros that way; the
imputation fills empty days only and keeps zeros as readings.

The profile is computed once per data set; the GUI then redraws its histogram and the kept
counts per class for any threshold from the arrays, without touching the readings again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.dataset import NORMAL, THEFT, UNKNOWN, ConsumptionData, ImportNote
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

CLASS_NAMES = {NORMAL: "normal", THEFT: "theft", UNKNOWN: "unlabelled"}


@dataclass
class MissingProfile:
    """Per-customer counts over one data set; every array has one entry per customer.

    ``empty_days``: days with no reading. ``zero_days``: days reading exactly zero.
    ``missing_days``: days counted as missing (empty, plus zero when ``zeros_as_missing``).
    ``longest_gap``: longest run of consecutive missing days. ``missing_share``:
    ``missing_days / n_days``. ``reading_days``: ``n_days - missing_days``.
    """

    customer_ids: np.ndarray
    labels: np.ndarray
    n_days: int
    zeros_as_missing: bool
    empty_days: np.ndarray
    zero_days: np.ndarray
    missing_days: np.ndarray
    longest_gap: np.ndarray

    @property
    def missing_share(self) -> np.ndarray:
        return self.missing_days / max(1, self.n_days)

    @property
    def reading_days(self) -> np.ndarray:
        return self.n_days - self.missing_days

    @property
    def no_readings(self) -> np.ndarray:
        """Customers with not a single reading (every day empty)."""
        return self.empty_days == self.n_days

    def kept(self, threshold: float = 0.03, min_days: int = 0) -> np.ndarray:
        """Boolean mask of the customers the filter keeps at these settings.

        Kept: missing share at most ``threshold``, at least ``min_days`` days with readings,
        and at least one reading.
        """
        return (
            (self.missing_share <= threshold + 1e-12)
            & (self.reading_days >= min_days)
            & ~self.no_readings
        )

    def kept_counts(self, threshold: float = 0.03, min_days: int = 0) -> dict[str, dict]:
        """Kept and dropped customers per class: ``{"normal": {"kept": n, "dropped": m}, ...}``."""
        kept = self.kept(threshold, min_days)
        return _counts_per_class(self.labels, kept)

    def reasons(self, threshold: float = 0.03, min_days: int = 0) -> dict[str, str]:
        """Customer id -> why the filter drops it, for every customer it drops."""
        reasons = {}
        share = self.missing_share
        what = "empty or zero" if self.zeros_as_missing else "empty"
        for row in np.flatnonzero(~self.kept(threshold, min_days)):
            if self.no_readings[row]:
                reason = "no readings"
            elif share[row] > threshold + 1e-12:
                reason = (
                    f"{self.missing_days[row]} of {self.n_days} days {what} "
                    f"({share[row]:.1%}, above the {threshold:.1%} threshold)"
                )
            else:
                reason = f"only {self.reading_days[row]} days with readings (needs {min_days})"
            reasons[str(self.customer_ids[row])] = reason
        return reasons


def missing_profile(data: ConsumptionData, zeros_as_missing: bool = True) -> MissingProfile:
    """Empty days, zero days and the longest gap of every customer, in one pass."""
    kwh = data.kwh
    empty = np.isnan(kwh)
    zero = kwh == 0
    missing = empty | zero if zeros_as_missing else empty
    return MissingProfile(
        customer_ids=data.customer_ids,
        labels=data.labels,
        n_days=data.n_days,
        zeros_as_missing=zeros_as_missing,
        empty_days=empty.sum(axis=1),
        zero_days=zero.sum(axis=1),
        missing_days=missing.sum(axis=1),
        longest_gap=longest_run(missing),
    )


def longest_run(mask: np.ndarray) -> np.ndarray:
    """Length of the longest run of True along each row of a boolean matrix."""
    if mask.shape[1] == 0:
        return np.zeros(mask.shape[0], dtype=np.int64)
    count = np.cumsum(mask, axis=1, dtype=np.int32)
    # At each False the running count is remembered; a run's length is the count since then.
    since = np.maximum.accumulate(np.where(mask, 0, count), axis=1)
    return (count - since).max(axis=1).astype(np.int64)


def filter_customers(
    data: ConsumptionData,
    *,
    threshold: float = 0.03,
    zeros_as_missing: bool = True,
    min_days: int = 0,
    state: TaskState | None = None,
) -> tuple[ConsumptionData, np.ndarray, dict]:
    """Drop the customers with too much missing history.

    Returns ``(kept data, kept mask over the input customers, report)``. The report holds the
    settings, kept and dropped counts per class, and ``dropped``: customer id -> reason.
    """
    state = ensure_state(state)
    state.set_status("Counting missing days")
    profile = missing_profile(data, zeros_as_missing)
    kept = profile.kept(threshold, min_days)
    reasons = profile.reasons(threshold, min_days)
    state.set_progress(1.0)

    report = {
        "threshold": float(threshold),
        "zeros_as_missing": bool(zeros_as_missing),
        "min_days": int(min_days),
        "customers_in": int(data.n_customers),
        "kept": int(kept.sum()),
        "dropped": int((~kept).sum()),
        "per_class": _counts_per_class(data.labels, kept),
        "no_readings": int(profile.no_readings.sum()),
        "dropped_customers": reasons,
    }
    log.info(
        "missing-data filter (threshold %.3f, zeros as missing %s, min days %d): kept %d of %d",
        threshold,
        zeros_as_missing,
        min_days,
        report["kept"],
        data.n_customers,
    )
    note = ImportNote(
        "customers_filtered",
        f"{report['dropped']} customers dropped for missing data "
        f"(more than {threshold:.1%} of days {'empty or zero' if zeros_as_missing else 'empty'}"
        f"{f', or fewer than {min_days} days with readings' if min_days else ''})",
        report["dropped"],
        list(reasons)[:5],
    )
    kept_data = data.subset(kept)
    kept_data.notes.append(note)
    return kept_data, kept, report


def _counts_per_class(labels: np.ndarray, kept: np.ndarray) -> dict[str, dict]:
    counts = {}
    for value, name in CLASS_NAMES.items():
        of_class = labels == value
        if value == UNKNOWN and not of_class.any():
            continue
        counts[name] = {
            "kept": int((of_class & kept).sum()),
            "dropped": int((of_class & ~kept).sum()),
        }
    return counts
