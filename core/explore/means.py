"""Class means: per day, per calendar period (year, quarter, month) and per weekday.

A mean over a period is the mean of every reading present in it for the group (readings summed,
then divided by how many there were), so a customer with gaps weighs by the days they were read
and missing readings never count as zero. A period without any reading has a NaN mean and a
reading count of 0, which a bar chart shows as a gap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData
from core.errors import EtdError
from core.explore.groups import (
    ExploreResult,
    Group,
    day_window,
    for_each_group,
    group_curve,
)
from core.tasks import TaskState

log = logging.getLogger(__name__)

PERIODS = {"year": "Y", "quarter": "Q", "month": "M"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(kw_only=True)
class DailyMeans(ExploreResult):
    """The group's mean kWh per day (NaN where no one was read) and the readings behind it."""

    days: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))
    readings: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


@dataclass(kw_only=True)
class PeriodMeans(ExploreResult):
    """Mean daily kWh per calendar period: ``labels`` like "2015", "2015Q1" or "2015-01"."""

    by: str = "month"
    labels: list[str] = field(default_factory=list)
    starts: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))
    readings: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    days: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


@dataclass(kw_only=True)
class WeekdayProfile(ExploreResult):
    """Mean kWh per weekday (Monday first) over a window, and the daily means behind it."""

    weekdays: tuple[str, ...] = WEEKDAYS
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))
    readings: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    days: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    daily: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def peak_weekday(self) -> str | None:
        """The weekday with the highest mean, or None when undefined."""
        if not self.defined or not np.isfinite(self.mean).any():
            return None
        return self.weekdays[int(np.nanargmax(self.mean))]


def daily_means(
    data: ConsumptionData, group: str = "both", *, state: TaskState | None = None
) -> DailyMeans | dict[str, DailyMeans]:
    """The class mean per day over the whole calendar (one customer: their readings)."""

    def compute(g: Group, part: TaskState) -> DailyMeans:
        if g.is_empty:
            return DailyMeans(group=g.key, label=g.label, defined=False, reason=g.empty_reason())
        mean, readings = group_curve(data, g, state=part)
        result = DailyMeans(
            group=g.key, label=g.label, days=data.days, mean=mean, readings=readings
        )
        return _undefined_if_unread(result, readings, g)

    return for_each_group(data, group, compute, state)


def period_means(
    data: ConsumptionData,
    group: str = "both",
    *,
    by: str = "month",
    year: int | None = None,
    state: TaskState | None = None,
) -> PeriodMeans | dict[str, PeriodMeans]:
    """Mean daily kWh per year, quarter or month, optionally only the periods of one ``year``."""
    if by not in PERIODS:
        raise EtdError(f"cannot group days by {by!r}.", hint=f"Use one of {sorted(PERIODS)}.")
    periods = data.days.to_period(PERIODS[by])
    in_year = np.ones(data.n_days, dtype=bool)
    if year is not None:
        in_year = np.asarray(data.days.year == int(year))
        if not in_year.any():
            raise EtdError(
                f"the data hold no day in {year} ({data.days[0].date()} to "
                f"{data.days[-1].date()}).",
                hint="Pick a year inside that range.",
            )
    codes, uniques = pd.factorize(periods[in_year], sort=True)
    n_periods = len(uniques)

    def compute(g: Group, part: TaskState) -> PeriodMeans:
        if g.is_empty:
            return PeriodMeans(
                group=g.key, label=g.label, by=by, defined=False, reason=g.empty_reason()
            )
        mean_per_day, counts = group_curve(data, g, state=part)
        sums = np.nan_to_num(mean_per_day * counts)[in_year]
        counts = counts[in_year]
        period_sum = np.bincount(codes, weights=sums, minlength=n_periods)
        period_count = np.bincount(codes, weights=counts, minlength=n_periods).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(period_count > 0, period_sum / np.maximum(period_count, 1), np.nan)
        result = PeriodMeans(
            group=g.key,
            label=g.label,
            by=by,
            labels=[str(p) for p in uniques],
            starts=pd.DatetimeIndex([p.start_time for p in uniques]),
            mean=mean,
            readings=period_count,
            days=np.bincount(codes, minlength=n_periods).astype(np.int64),
        )
        return _undefined_if_unread(result, period_count, g)

    return for_each_group(data, group, compute, state)


def weekday_profile(
    data: ConsumptionData,
    group: str = "both",
    *,
    start=None,
    weeks: int | None = 4,
    state: TaskState | None = None,
) -> WeekdayProfile | dict[str, WeekdayProfile]:
    """Mean kWh per weekday over ``weeks`` weeks from ``start`` (the first day when None).

    ``weeks=None`` uses the whole period. The daily means of the window come along, so the
    four-week curve with its weekday ticks can be drawn from the same result.
    """
    columns, notes = day_window(data, start, None if weeks is None else 7 * int(weeks))
    days = data.days[columns]
    weekday = np.asarray(days.day_of_week)

    def compute(g: Group, part: TaskState) -> WeekdayProfile:
        if g.is_empty:
            return WeekdayProfile(
                group=g.key, label=g.label, defined=False, reason=g.empty_reason()
            )
        mean_per_day, counts = group_curve(data, g, columns, state=part)
        sums = np.bincount(weekday, weights=np.nan_to_num(mean_per_day * counts), minlength=7)
        per_weekday = np.bincount(weekday, weights=counts, minlength=7).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(per_weekday > 0, sums / np.maximum(per_weekday, 1), np.nan)
        result = WeekdayProfile(
            group=g.key,
            label=g.label,
            notes=list(notes),
            mean=mean,
            readings=per_weekday,
            days=days,
            daily=mean_per_day,
        )
        return _undefined_if_unread(result, per_weekday, g)

    return for_each_group(data, group, compute, state)


def _undefined_if_unread(result, readings: np.ndarray, g: Group):
    """Turn a result with no reading at all into an explicit "undefined"."""
    if readings.sum() > 0:
        return result
    who = "this customer has" if g.is_customer else f"the {g.label} have"
    empty = type(result)(
        group=g.key,
        label=g.label,
        notes=result.notes,
        defined=False,
        reason=f"{who} no readings in the chosen days, so there is no mean to show",
    )
    if isinstance(result, PeriodMeans):
        empty.by = result.by
    return empty
