"""The embedded demo data set: synthetic daily kWh shaped like the SGCC theft data.

:func:`make_demo` is what the workbench opens when the user has no file, and what tests use
when they need realistic data. It is not real data and says so in its import note.

Normal customers follow a weekly rhythm (most use more at weekends, a few shops less), a yearly
one (summer cooling peak, winter heating bump), dip at Chinese New Year and on a few public
holidays, and differ in size (log-normal level) and in day-to-day noise. A shared weather swing
moves everybody a little on the same days.

Each thief follows one pattern of :data:`DEMO_PATTERNS` from a start day on, so its earlier
readings look normal. Some thieves show nothing at all ("hidden") and a few normal customers
behave oddly (a long absence, a move), because inspection labels are noisy.

Missing and zero readings come the SGCC way, clustered by customer: many meters start late
(empty from the first day until installation), some have long outages, empty homes read zero
for months, and about a quarter of customers are nearly complete. With the default size the
reference method's 3% missing filter keeps roughly a quarter of the customers. A few cells are
meter-fault spikes, hundreds to a thousand times the customer's usual level.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time

import numpy as np
import pandas as pd

from core.dataset import NORMAL, THEFT, ConsumptionData, ImportNote
from core.errors import EtdError
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
CHUNK_CUSTOMERS = 2048

DEMO_PATTERNS: dict[str, str] = {
    "fraction": "From the start day on, every reading is reduced by the same 30-80%.",
    "random_days": "From the start day on, 30-70% of the days show only 5-40% of the use.",
    "capped": "From the start day on, readings never exceed a ceiling well below the usual peaks.",
    "flat": "From the start day on, the meter reports an almost constant, reduced amount.",
    "zero_stretches": "After the start day, a few stretches of days read exactly zero.",
    "shuffled_week": (
        "From the start day on, the days within each week are shuffled and reduced, "
        "so the weekly rhythm disappears."
    ),
    "hidden": "Labelled as theft, but the readings show nothing unusual (inspection label noise).",
}

# Share of thieves per pattern; "hidden" is the label noise of inspection-based labels.
_PATTERN_SHARES = {
    "fraction": 0.17,
    "random_days": 0.17,
    "capped": 0.16,
    "flat": 0.14,
    "zero_stretches": 0.12,
    "shuffled_week": 0.16,
    "hidden": 0.08,
}

# How a customer's meter record is broken (only when missing_rate / zero_rate are None).
_COMPLETE, _LATE_METER, _OUTAGES, _EMPTY_HOME, _TINY_USER = range(5)
_RECORD_SHARES = np.array([0.30, 0.35, 0.11, 0.15, 0.09])

# Chinese New Year (first day of the lunar year); outside this table 5 February is assumed.
_NEW_YEAR_DAYS = {
    2010: "02-14", 2011: "02-03", 2012: "01-23", 2013: "02-10", 2014: "01-31",
    2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05",
    2020: "01-25", 2021: "02-12", 2022: "02-01", 2023: "01-22", 2024: "02-10",
    2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26", 2029: "02-13",
    2030: "02-03",
}  # fmt: skip

# Fixed-date public holidays: New Year's Day, Qingming, Labour Day week, National Day week.
_HOLIDAYS = [(1, 1), (4, 5), (5, 1), (5, 2), (5, 3)] + [(10, d) for d in range(1, 8)]

# Weekly shape Monday..Sunday: a household uses more at the weekend.
_WEEK_SHAPE = np.array([-0.45, -0.45, -0.4, -0.4, -0.1, 0.9, 0.95])


def make_demo(
    n_customers: int = 2000,
    n_days: int = 1035,
    start: str | _dt.date | pd.Timestamp = "2014-01-01",
    theft_fraction: float = 0.09,
    seed: int = 0,
    missing_rate: float | None = None,
    zero_rate: float | None = None,
    state: TaskState | None = None,
    return_patterns: bool = False,
) -> ConsumptionData | tuple[ConsumptionData, np.ndarray]:
    """Make a labelled synthetic data set of ``n_customers`` x ``n_days`` daily kWh.

    The same arguments give the same matrix, ids and labels; a bigger demo is not an extension
    of a smaller one with the same seed (other customers, other ids). ``theft_fraction`` of the
    customers (rounded, at least one when positive) are thieves. ``missing_rate`` and
    ``zero_rate`` left at None give SGCC-like clustered gaps and zeros (about 25% and 13% of
    cells); a number instead empties (or zeroes) that share of cells independently at random,
    0 meaning none. The zero stretches of the "zero_stretches" theft pattern are kept either way.

    With ``return_patterns`` the result is ``(data, patterns)``: the :data:`DEMO_PATTERNS` name
    of each customer's theft pattern, "" for normal customers.
    """
    state = ensure_state(state)
    first_day = _check_arguments(
        n_customers, n_days, start, theft_fraction, seed, missing_rate, zero_rate
    )
    began = time.perf_counter()
    days = pd.date_range(first_day, periods=n_days, freq="D")
    root = np.random.SeedSequence(seed)
    plan_seq, weather_seq, chunk_root = root.spawn(3)

    plan_rng = np.random.default_rng(plan_seq)
    labels, patterns = _assign_labels_and_patterns(plan_rng, n_customers, theft_fraction)
    ids = _customer_ids(plan_rng, n_customers)
    calendar = _Calendar(days, np.random.default_rng(weather_seq))

    kwh = np.empty((n_customers, n_days), dtype=np.float32)
    n_chunks = max(1, -(-n_customers // CHUNK_CUSTOMERS))
    for i, chunk_seq in enumerate(chunk_root.spawn(n_chunks)):
        state.check()
        rows = slice(i * CHUNK_CUSTOMERS, min(n_customers, (i + 1) * CHUNK_CUSTOMERS))
        state.set_status(f"Making demo customers {rows.start + 1:,}-{rows.stop:,}")
        rng = np.random.default_rng(chunk_seq)
        kwh[rows] = _make_chunk(rng, calendar, patterns[rows], missing_rate, zero_rate)
        state.set_progress((i + 1) / n_chunks)

    note = ImportNote(
        kind="demo",
        message=(
            f"Synthetic demo data (seed {seed}), not real customers: {n_customers:,} customers x "
            f"{n_days:,} days from {days[0].date().isoformat()}, {int((labels == THEFT).sum()):,}"
            f" thieves following {len(set(patterns[labels == THEFT]) - {'hidden'})} theft"
            f" patterns ({int((patterns == 'hidden').sum())} of them show nothing unusual)."
        ),
        count=n_customers,
    )
    source = {
        "name": "demo",
        "format": "demo",
        "seed": int(seed),
        "generator": "core.demo",
        "version": GENERATOR_VERSION,
        "n_customers": int(n_customers),
        "n_days": int(n_days),
        "start": days[0].date().isoformat(),
        "theft_fraction": float(theft_fraction),
        "missing_rate": None if missing_rate is None else float(missing_rate),
        "zero_rate": None if zero_rate is None else float(zero_rate),
    }
    data = ConsumptionData(ids, days, kwh, labels, notes=[note], source=source)
    log.info(
        "demo data: %d customers x %d days, seed %d, %d thieves, %.2f s",
        n_customers, n_days, seed, data.theft_count, time.perf_counter() - began,
    )  # fmt: skip
    return (data, patterns) if return_patterns else data


class DemoSettingsError(EtdError, ValueError):
    """A demo setting out of range; the message says which and what is allowed."""


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_arguments(n_customers, n_days, start, theft_fraction, seed, missing_rate, zero_rate):
    """The first day of the demo, or DemoSettingsError naming the setting that is wrong."""
    if not _whole(n_customers) or n_customers < 1:
        raise DemoSettingsError(f"n_customers must be a whole number >= 1, got {n_customers!r}")
    if not _whole(n_days) or n_days < 1:
        raise DemoSettingsError(f"n_days must be a whole number >= 1, got {n_days!r}")
    if not _whole(seed) or seed < 0:
        raise DemoSettingsError(f"seed must be a whole number >= 0, got {seed!r}")
    if not 0.0 <= theft_fraction <= 1.0:
        raise DemoSettingsError(f"theft_fraction must be between 0 and 1, got {theft_fraction!r}")
    for name, rate in (("missing_rate", missing_rate), ("zero_rate", zero_rate)):
        if rate is not None and not 0.0 <= rate < 1.0:
            raise DemoSettingsError(
                f"{name} must be None or between 0 and 1 (excluded), got {rate!r}"
            )
    try:
        first_day = pd.Timestamp(start)
    except (ValueError, TypeError):
        first_day = pd.NaT
    if pd.isna(first_day):
        raise DemoSettingsError(f"start must be a date such as 2014-01-01, got {start!r}")
    return first_day.normalize()


def _assign_labels_and_patterns(rng, n_customers, theft_fraction):
    """Labels and pattern names, in a shuffled customer order; pattern counts follow the shares."""
    n_thieves = int(round(n_customers * theft_fraction))
    if theft_fraction > 0 and n_thieves == 0:
        n_thieves = 1
    names = list(_PATTERN_SHARES)
    shares = np.array(list(_PATTERN_SHARES.values()))
    # Largest-remainder rounding, so each pattern appears once there are enough thieves.
    exact = shares / shares.sum() * n_thieves
    counts = np.floor(exact).astype(int)
    for k in np.argsort(exact - counts)[::-1][: n_thieves - counts.sum()]:
        counts[k] += 1
    thief_patterns = np.repeat(names, counts)

    patterns = np.full(n_customers, "", dtype="<U16")
    patterns[:n_thieves] = thief_patterns
    labels = np.full(n_customers, NORMAL, dtype=np.int8)
    labels[:n_thieves] = THEFT
    order = rng.permutation(n_customers)
    return labels[order], patterns[order]


def _customer_ids(rng, n_customers) -> np.ndarray:
    """Unique 32-digit upper-case hex ids, like SGCC's CONS_NO."""
    raw = rng.integers(0, 256, size=(n_customers, 16), dtype=np.uint8)
    ids = np.array([row.tobytes().hex().upper() for row in raw], dtype=object)
    if len(set(ids)) != n_customers:  # 128 random bits: practically never, but never silently
        raise RuntimeError("duplicate demo customer ids; try another seed")
    return ids


class _Calendar:
    """Per-day curves every customer shares: season, holidays, weekday, weather."""

    def __init__(self, days: pd.DatetimeIndex, rng: np.random.Generator):
        doy = days.day_of_year.to_numpy().astype(np.float64)
        self.n_days = len(days)
        self.weekday = days.day_of_week.to_numpy()
        self.summer = np.exp(-0.5 * ((doy - 205.0) / 32.0) ** 2)
        winter_gap = np.minimum(np.abs(doy - 15.0), 365.0 - np.abs(doy - 15.0))
        self.winter = np.exp(-0.5 * (winter_gap / 30.0) ** 2)
        self.new_year = self._new_year_dip(days)
        month_day = list(zip(days.month, days.day, strict=True))
        self.holiday = np.array([md in _HOLIDAYS for md in month_day], dtype=np.float64)

        # Shared weather: a slow random swing, stronger in the heating and cooling seasons.
        swing = np.empty(self.n_days)
        z = rng.standard_normal(self.n_days)
        level = 0.0
        for t in range(self.n_days):
            level = 0.85 * level + np.sqrt(1 - 0.85**2) * z[t]
            swing[t] = level
        self.weather = swing * (0.4 + self.summer + self.winter)

    @staticmethod
    def _new_year_dip(days: pd.DatetimeIndex) -> np.ndarray:
        """1 on the days around Chinese New Year when homes empty and shops close, 0 elsewhere."""
        years = range(days[0].year - 1, days[-1].year + 2)
        feasts = pd.DatetimeIndex([f"{y}-{_NEW_YEAR_DAYS.get(y, '02-05')}" for y in years])
        offset = days.to_numpy()[:, None] - feasts.to_numpy()[None, :]
        offset_days = offset.astype("timedelta64[D]").astype(np.float64)
        nearest = offset_days[np.arange(len(days)), np.abs(offset_days).argmin(axis=1)]
        # The dip starts two days before the feast and lasts about ten days.
        return np.exp(-0.5 * ((nearest - 4.0) / 4.0) ** 2)


def _make_chunk(rng, calendar: _Calendar, patterns, missing_rate, zero_rate) -> np.ndarray:
    """Readings for one chunk of customers, float32, NaN where missing."""
    n, n_days = len(patterns), calendar.n_days
    thief = patterns != ""
    kwh = _normal_use(rng, calendar, n, thief)
    _odd_normals(rng, kwh, ~thief)

    record = rng.choice(len(_RECORD_SHARES), size=n, p=_RECORD_SHARES)
    first_read = _installation_days(rng, record, n_days)
    theft_start = first_read + (rng.uniform(0.05, 0.75, n) * (n_days - first_read)).astype(int)
    for row in np.flatnonzero(thief):
        _steal(rng, kwh[row], patterns[row], theft_start[row])

    if zero_rate is None:
        _clustered_zeros(rng, kwh, record)
    elif zero_rate > 0:
        kwh[rng.random(kwh.shape) < zero_rate] = 0.0
    if missing_rate is None:
        _clustered_gaps(rng, kwh, record, first_read)
    elif missing_rate > 0:
        kwh[rng.random(kwh.shape) < missing_rate] = np.nan

    _meter_faults(rng, kwh)
    return np.round(kwh, 2).astype(np.float32, copy=False)


def _normal_use(rng, calendar: _Calendar, n: int, thief: np.ndarray) -> np.ndarray:
    """Honest daily use: level x season x week x holidays x noise, float64 (n, n_days)."""
    # Thieves tend to be the larger users, as in SGCC.
    log_level = rng.normal(np.log(6.0), 0.85, n) + 0.3 * thief
    summer = rng.uniform(0.0, 0.9, n)
    winter = rng.uniform(0.0, 0.6, n)
    new_year = rng.uniform(0.2, 0.6, n)
    holiday = rng.uniform(-0.05, 0.2, n)
    week_amp = rng.uniform(0.08, 0.35, n) * np.where(rng.random(n) < 0.82, 1.0, -0.6)
    weather = rng.uniform(0.0, 0.12, n)
    noise_sd = rng.uniform(0.12, 0.32, n)
    persistence = rng.uniform(0.2, 0.7, n)

    log_use = (
        log_level[:, None]
        + np.log1p(summer[:, None] * calendar.summer + winter[:, None] * calendar.winter)
        + np.log1p(week_amp[:, None] * _WEEK_SHAPE[calendar.weekday])
        + np.log1p(-new_year[:, None] * calendar.new_year)
        + np.log1p(-holiday[:, None] * calendar.holiday)
        + weather[:, None] * calendar.weather
    )
    # Day-to-day noise with some memory (a busy week, a guest staying): AR(1) in log space,
    # stationary from the first day. Days run along the first axis so each step is contiguous.
    noise = rng.standard_normal((calendar.n_days, n)) * noise_sd
    innovation = np.sqrt(1 - persistence**2)
    for t in range(1, calendar.n_days):
        noise[t] = persistence * noise[t - 1] + innovation * noise[t]
    log_use += noise.T
    return np.exp(log_use)


def _odd_normals(rng, kwh: np.ndarray, normal: np.ndarray) -> None:
    """A few honest customers look suspicious: a long absence or a move to a smaller home."""
    n_days = kwh.shape[1]
    for row in np.flatnonzero(normal & (rng.random(len(normal)) < 0.04)):
        start = int(rng.integers(0, n_days))
        if rng.random() < 0.5:
            stop = start + int(rng.integers(30, 120))
            kwh[row, start:stop] *= rng.uniform(0.1, 0.4)
        else:
            kwh[row, start:] *= rng.uniform(0.35, 0.7)


def _steal(rng, use: np.ndarray, pattern: str, start: int) -> None:
    """Apply one theft pattern to one customer's readings from ``start`` on, in place."""
    after = use[start:]
    m = len(after)
    if m == 0 or pattern == "hidden":
        return
    if pattern == "fraction":
        after *= rng.uniform(0.2, 0.7)
    elif pattern == "random_days":
        hit = rng.random(m) < rng.uniform(0.3, 0.7)
        after[hit] *= rng.uniform(0.05, 0.4, hit.sum())
    elif pattern == "capped":
        ceiling = np.quantile(use, rng.uniform(0.15, 0.45))
        np.minimum(after, ceiling, out=after)
    elif pattern == "flat":
        after[:] = after.mean() * rng.uniform(0.3, 0.7) * (1 + rng.normal(0, 0.02, m))
    elif pattern == "zero_stretches":
        # Short or long stretches: with short ones the customer survives the 3% filter.
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(3, 12 if rng.random() < 0.5 else 60))
            first = int(rng.integers(0, m))
            after[first : first + length] = 0.0
    elif pattern == "shuffled_week":
        factor = rng.uniform(0.5, 0.85)
        for first in range(0, m, 7):
            week = after[first : first + 7]
            week[:] = rng.permutation(week) * factor
    else:
        raise ValueError(f"unknown theft pattern {pattern!r}")


def _installation_days(rng, record: np.ndarray, n_days: int) -> np.ndarray:
    """First day with a reading: late meters start anywhere in the span, others on day 0."""
    first = np.zeros(len(record), dtype=int)
    late = record == _LATE_METER
    first[late] = (rng.uniform(0.05, 0.99, late.sum()) * n_days).astype(int)
    other_late = (record == _OUTAGES) | (record == _EMPTY_HOME)
    other_late &= rng.random(len(record)) < 0.3
    first[other_late] = (rng.uniform(0.0, 0.7, other_late.sum()) * n_days).astype(int)
    return first


def _clustered_zeros(rng, kwh: np.ndarray, record: np.ndarray) -> None:
    """Empty homes read zero for long stretches (some always); tiny users round to zero often."""
    n, n_days = kwh.shape
    for row in np.flatnonzero(record == _EMPTY_HOME):
        if rng.random() < 0.25:
            kwh[row] = 0.0
            continue
        covered = rng.uniform(0.3, 1.0)
        pieces = int(rng.integers(1, 4))
        for _ in range(pieces):
            length = int(covered * n_days / pieces)
            first = int(rng.integers(0, max(1, n_days - length)))
            kwh[row, first : first + length] = 0.0
    tiny = np.flatnonzero(record == _TINY_USER)
    zero_share = rng.uniform(0.15, 0.7, len(tiny))
    kwh[tiny] *= 0.15
    kwh[tiny] *= rng.random((len(tiny), n_days)) >= zero_share[:, None]
    # Nearly every meter has the odd zero day.
    kwh[rng.random((n, n_days)) < rng.exponential(0.002, n)[:, None]] = 0.0


def _clustered_gaps(rng, kwh: np.ndarray, record: np.ndarray, first_read: np.ndarray) -> None:
    """Empty cells: before the meter was installed, during outages, and scattered single days."""
    n, n_days = kwh.shape
    for row in np.flatnonzero(first_read > 0):
        kwh[row, : first_read[row]] = np.nan
    for row in np.flatnonzero(record == _OUTAGES):
        for _ in range(int(rng.integers(1, 5))):
            length = int(rng.uniform(10, max(11, 0.25 * n_days)))
            first = int(rng.integers(0, n_days))
            kwh[row, first : first + length] = np.nan
    kwh[rng.random((n, n_days)) < rng.exponential(0.006, n)[:, None]] = np.nan


def _meter_faults(rng, kwh: np.ndarray) -> None:
    """About 2.5% of customers get one to three spikes of 200-1000 times their usual reading."""
    for row in np.flatnonzero(rng.random(kwh.shape[0]) < 0.025):
        readings = np.flatnonzero(kwh[row] > 0)
        if len(readings) == 0:
            continue
        usual = float(np.median(kwh[row, readings]))
        for day in rng.choice(readings, size=min(len(readings), int(rng.integers(1, 4)))):
            kwh[row, day] = usual * rng.uniform(200, 1000)
