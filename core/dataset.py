"""The consumption data set: customers x days of daily kWh, with labels and import notes.

This is the one in-memory type every step passes along. Invariants, checked on construction:

- ``customer_ids`` are unique non-empty strings;
- ``labels`` hold 0 (normal), 1 (theft) or :data:`UNKNOWN` (-1) per customer;
- ``days`` is a complete daily calendar, in order, with no gaps or duplicates;
- ``kwh`` is a C-contiguous float32 matrix customers x days, NaN where there is no reading.

``notes`` keep what the import (or a cleaning step) did, so the GUI and the reports can say it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NORMAL = 0
THEFT = 1
UNKNOWN = -1


@dataclass
class ImportNote:
    """One thing an import did or noticed, for the user to read.

    ``kind`` is a stable key (``"days_inserted"``, ``"cells_coerced"``, ...), ``message`` the
    sentence shown, ``count`` how many rows, cells or days it concerns and ``examples`` a few of
    them (customer ids, dates, cell positions) so the user can look them up.
    """

    kind: str
    message: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "count": int(self.count),
            "examples": list(self.examples),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImportNote:
        return cls(
            kind=str(d["kind"]),
            message=str(d["message"]),
            count=int(d.get("count", 0)),
            examples=[str(x) for x in d.get("examples", [])],
        )


class ConsumptionData:
    """Daily consumption of a set of customers over one complete calendar."""

    def __init__(
        self,
        customer_ids: Sequence[str] | np.ndarray,
        days: pd.DatetimeIndex | Sequence,
        kwh: np.ndarray,
        labels: Sequence[int] | np.ndarray | None = None,
        notes: list[ImportNote] | None = None,
        source: dict[str, Any] | None = None,
    ):
        ids = np.asarray([str(c) for c in customer_ids], dtype=object)
        days = pd.DatetimeIndex(days)
        kwh = np.ascontiguousarray(kwh, dtype=np.float32)
        if labels is None:
            labels = np.full(len(ids), UNKNOWN, dtype=np.int8)
        labels = np.asarray(labels, dtype=np.int8)

        if kwh.ndim != 2 or kwh.shape != (len(ids), len(days)):
            raise ValueError(
                f"kwh has shape {kwh.shape}, expected ({len(ids)} customers, {len(days)} days)"
            )
        if labels.shape != (len(ids),):
            raise ValueError(f"{labels.shape[0]} labels for {len(ids)} customers")
        bad = ~np.isin(labels, (NORMAL, THEFT, UNKNOWN))
        if bad.any():
            raise ValueError(f"labels must be 0, 1 or {UNKNOWN}; found {sorted(set(labels[bad]))}")
        if len(ids) and (ids == "").any():
            raise ValueError("customer ids must not be empty")
        if len(set(ids)) != len(ids):
            raise ValueError("customer ids must be unique")
        if len(days):
            if days.tz is not None:
                days = days.tz_localize(None)
            if not (days == days.normalize()).all():
                raise ValueError("days must be midnight timestamps, one per calendar day")
            expected = pd.date_range(days[0], periods=len(days), freq="D")
            if not days.equals(expected):
                raise ValueError("days must be a complete daily calendar in order")

        self.customer_ids = ids
        self.days = pd.DatetimeIndex(days, freq="D" if len(days) else None)
        self.kwh = kwh
        self.labels = labels
        self.notes: list[ImportNote] = list(notes or [])
        self.source: dict[str, Any] = dict(source or {})

    # sizes and counts ----------------------------------------------------------------------
    @property
    def n_customers(self) -> int:
        return self.kwh.shape[0]

    @property
    def n_days(self) -> int:
        return self.kwh.shape[1]

    @property
    def theft_count(self) -> int:
        return int((self.labels == THEFT).sum())

    @property
    def normal_count(self) -> int:
        return int((self.labels == NORMAL).sum())

    @property
    def unlabelled_count(self) -> int:
        return int((self.labels == UNKNOWN).sum())

    @property
    def is_labelled(self) -> bool:
        """True when every customer has a 0/1 label."""
        return self.unlabelled_count == 0 and self.n_customers > 0

    @property
    def missing_fraction(self) -> float:
        if self.kwh.size == 0:
            return 0.0
        return float(np.isnan(self.kwh).sum() / self.kwh.size)

    @property
    def zero_fraction(self) -> float:
        if self.kwh.size == 0:
            return 0.0
        return float((self.kwh == 0).sum() / self.kwh.size)

    def summary(self) -> dict[str, Any]:
        """The figures ``etd info --json`` prints and the Data page shows."""
        return {
            "customers": self.n_customers,
            "days": self.n_days,
            "first_day": self.days[0].date().isoformat() if self.n_days else None,
            "last_day": self.days[-1].date().isoformat() if self.n_days else None,
            "theft": self.theft_count,
            "normal": self.normal_count,
            "unlabelled": self.unlabelled_count,
            "missing_fraction": round(self.missing_fraction, 6),
            "zero_fraction": round(self.zero_fraction, 6),
            "notes": [n.message for n in self.notes],
        }

    # derived data sets ---------------------------------------------------------------------
    def subset(self, rows: np.ndarray | Sequence[int]) -> ConsumptionData:
        """The customers at ``rows`` (indices or a boolean mask), sharing no memory with self."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return ConsumptionData(
            self.customer_ids[rows],
            self.days,
            self.kwh[rows].copy(),
            self.labels[rows].copy(),
            notes=list(self.notes),
            source=dict(self.source),
        )

    def with_kwh(self, kwh: np.ndarray, note: ImportNote | None = None) -> ConsumptionData:
        """The same customers and days with new readings (a cleaning step's output)."""
        notes = list(self.notes) + ([note] if note else [])
        return ConsumptionData(
            self.customer_ids, self.days, kwh, self.labels.copy(), notes, dict(self.source)
        )

    def with_labels(self, labels: np.ndarray) -> ConsumptionData:
        return ConsumptionData(
            self.customer_ids, self.days, self.kwh, labels, list(self.notes), dict(self.source)
        )

    def index_of(self, customer_id: str) -> int:
        """Row of one customer; KeyError naming the id when it is not in the data set."""
        hits = np.flatnonzero(self.customer_ids == str(customer_id))
        if not len(hits):
            raise KeyError(f"customer {customer_id!r} is not in this data set")
        return int(hits[0])

    def to_frame(self) -> pd.DataFrame:
        """Wide frame: one row per customer, ``FLAG`` then one column per ISO date."""
        frame = pd.DataFrame(
            self.kwh,
            index=pd.Index(self.customer_ids, name="CONS_NO"),
            columns=[d.date().isoformat() for d in self.days],
        )
        flag = pd.Series(self.labels, index=frame.index).replace(UNKNOWN, pd.NA)
        frame.insert(0, "FLAG", flag.astype("Int8"))
        return frame

    def __repr__(self) -> str:
        span = f"{self.days[0].date()}..{self.days[-1].date()}" if self.n_days else "no days"
        return (
            f"ConsumptionData({self.n_customers} customers x {self.n_days} days, {span}, "
            f"theft={self.theft_count} normal={self.normal_count} "
            f"unknown={self.unlabelled_count})"
        )
