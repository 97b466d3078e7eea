"""Which customers a chart is about, and the one curve each such group gives.

Every exploration function takes a ``group``:

- ``"theft"`` or ``"normal"``: the customers labelled so (unlabelled customers are in neither);
- ``"both"``: the two classes side by side; the function then returns ``{"theft": ...,
  "normal": ...}``;
- ``"all"``: every customer whatever the label, for data sets that have no labels yet;
- anything else: one customer id. The four words above win over a customer of the same id.

A group's curve is its *class mean per day*: the mean of the readings present that day, missing
readings ignored (not counted as zero). One customer's curve is simply their readings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.dataset import NORMAL, THEFT, ConsumptionData
from core.errors import EtdError
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

GROUP_WORDS = ("theft", "normal", "both", "all")

# Rows summed at a time: big enough for numpy to be efficient, small enough (8 MB of float32
# at 1,035 days) to check for a cancel often and to keep memory flat on the full SGCC set.
CHUNK_ROWS = 2048


@dataclass(frozen=True)
class Group:
    """One set of customers a chart is drawn for."""

    key: str  # "theft", "normal", "all" or the customer id
    label: str  # for a legend or a title: "theft customers", "customer 0387..."
    rows: np.ndarray  # row indices into the data set
    is_customer: bool = False

    @property
    def is_empty(self) -> bool:
        return len(self.rows) == 0

    def empty_reason(self) -> str:
        """Why nothing can be drawn for a class without customers."""
        return f"there are no {self.label} in this data set, so there is nothing to show for them"

    def series_name(self) -> str:
        """How a sentence names this group's curve: "the theft class mean", "this customer's
        readings"."""
        if self.is_customer:
            return "this customer's readings"
        if self.key == "all":
            return "the mean of all customers"
        return f"the {self.key} class mean"


@dataclass(kw_only=True)
class ExploreResult:
    """What every exploration result carries besides its arrays.

    ``defined`` is False when the chart would be meaningless (a constant series, too few
    readings, an empty class); ``reason`` then says why in a sentence for the user, and the
    arrays are empty. ``notes`` are things the user should know about a defined result (gaps
    that were filled, a window cut short by the end of the data).
    """

    group: str
    label: str
    defined: bool = True
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def select_groups(data: ConsumptionData, group: str) -> list[Group]:
    """The groups a ``group`` selector names: two for ``"both"``, otherwise one."""
    group = str(group)
    if group == "both":
        return [_label_group(data, "theft"), _label_group(data, "normal")]
    if group in ("theft", "normal"):
        return [_label_group(data, group)]
    if group == "all":
        return [Group("all", "all customers", np.arange(data.n_customers))]
    try:
        row = data.index_of(group)
    except KeyError:
        raise EtdError(
            f"customer {group!r} is not in this data set.",
            hint=f"Pick one of its {data.n_customers} customers, or one of {GROUP_WORDS}.",
        ) from None
    return [Group(group, f"customer {group}", np.array([row]), is_customer=True)]


def _label_group(data: ConsumptionData, word: str) -> Group:
    label_value = THEFT if word == "theft" else NORMAL
    rows = np.flatnonzero(data.labels == label_value)
    return Group(word, f"{word} customers", rows)


def for_each_group(data: ConsumptionData, group: str, compute, state: TaskState | None = None):
    """Run ``compute(group, state)`` per selected group; a dict for ``"both"``, else one result.

    Each group gets an equal share of the progress bar.
    """
    state = ensure_state(state)
    groups = select_groups(data, group)
    results = {}
    for i, g in enumerate(groups):
        state.check()
        part = state.child(i / len(groups), (i + 1) / len(groups))
        results[g.key] = compute(g, part)
    state.set_progress(1.0)
    if group == "both":
        return results
    return results[groups[0].key]


def day_sums(
    kwh: np.ndarray, rows: np.ndarray, columns: slice, state: TaskState | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the readings present per day over ``rows``: float64 and int64 arrays.

    Missing readings (NaN) are skipped, so ``sums / counts`` is the mean of what was read.
    """
    state = ensure_state(state)
    n_days = len(range(kwh.shape[1])[columns])
    sums = np.zeros(n_days, dtype=np.float64)
    counts = np.zeros(n_days, dtype=np.int64)
    for start in range(0, len(rows), CHUNK_ROWS):
        state.check()
        block = kwh[rows[start : start + CHUNK_ROWS], columns]
        present = ~np.isnan(block)
        sums += np.where(present, block, 0.0).sum(axis=0, dtype=np.float64)
        counts += present.sum(axis=0)
        state.set_progress(min(1.0, (start + CHUNK_ROWS) / max(1, len(rows))))
    return sums, counts


def group_curve(
    data: ConsumptionData, group: Group, columns: slice = slice(None), state=None
) -> tuple[np.ndarray, np.ndarray]:
    """The group's curve over ``columns``: mean per day (NaN where nobody was read) and the
    number of readings behind each day."""
    if group.is_customer:
        values = data.kwh[group.rows[0], columns].astype(np.float64)
        return values, (~np.isnan(values)).astype(np.int64)
    sums, counts = day_sums(data.kwh, group.rows, columns, state)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mean, counts


def day_window(
    data: ConsumptionData, start=None, n_days: int | None = None
) -> tuple[slice, list[str]]:
    """Columns for a window of ``n_days`` from ``start`` (a date; the first day when None).

    ``n_days=None`` runs to the last day. A window that would pass the last day is cut short
    and a note says so; a start outside the calendar is refused.
    """
    notes: list[str] = []
    if data.n_days == 0:
        raise EtdError("this data set has no days, so there is nothing to explore.")
    first = 0
    if start is not None:
        day = pd.Timestamp(start).normalize()
        if day < data.days[0] or day > data.days[-1]:
            raise EtdError(
                f"the window starts on {day.date()}, outside the data "
                f"({data.days[0].date()} to {data.days[-1].date()}).",
                hint="Pick a start date inside that range.",
            )
        first = int((day - data.days[0]).days)
    if n_days is None:
        return slice(first, data.n_days), notes
    if n_days < 1:
        raise EtdError(f"a window of {n_days} days is empty.", hint="Ask for at least one day.")
    last = first + int(n_days)
    if last > data.n_days:
        notes.append(
            f"the data end on {data.days[-1].date()}, so the {n_days}-day window from "
            f"{data.days[first].date()} has only {data.n_days - first} days"
        )
        last = data.n_days
    return slice(first, last), notes
