"""Long files: one row per customer and timestamp (daily or interval readings).

Readings are summed to daily kWh per customer. The interval is the most common gap between a
customer's consecutive timestamps (15 min, 30 min, 1 h, or a day). A reading belongs to the
calendar day of its timestamp (interval-start convention).

**The completeness rule.** A day is expected to hold ``1 day / interval`` readings (96 for
15 min, 48 for 30 min). A customer's day with fewer than :data:`MIN_DAY_SHARE` (90%) of them is
made missing, not summed: a low total from missing intervals would look like theft. A day with
at least 90% but not all of them is summed as it is and counted in a note (it reads up to 10%
low). Both are reported with examples.

**Clock changes.** Exports in local time without an offset repeat one night-time hour each
autumn; those readings are two real intervals and are all summed (note ``clock_change``). Any
other timestamp with two different readings is refused. The spring day that lacks an hour has
23/24 of its intervals, above the 90% rule, so it is summed and noted as partial.

The whole file is read into memory (a long file is several times the size of the same data in
wide form; convert very large interval files to daily first).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from core.dataset import ImportNote
from core.errors import DataFileError
from core.io.assembly import ReadingTable
from core.io.columns import ID_NAMES, LABEL_NAMES, TIME_NAMES, VALUE_NAMES, find_named, position_of
from core.io.dates import looks_like_timestamps, parse_timestamps
from core.io.readings import EXAMPLES, BadCells, to_readings
from core.io.wide import id_text
from core.tasks import TaskState

log = logging.getLogger(__name__)

MIN_DAY_SHARE = 0.9


def long_roles(
    path: Path,
    frame: pd.DataFrame,
    *,
    id_column: str | None,
    label_column: str | None,
    labels_from_file: bool,
) -> tuple[int, int, int, int | None] | None:
    """Positions of (id, time, value, label) in a long table, or None if it is not long.

    The time column is found by name or by its values looking like dates; the value column by
    name or as the only other numeric column.
    """
    header = list(frame.columns)
    time_pos = find_named(header, TIME_NAMES)
    if time_pos is None:
        for pos in range(len(header)):
            if looks_like_timestamps(frame.iloc[:, pos]):
                time_pos = pos
                break
    if time_pos is None:
        return None

    if id_column is not None:
        id_pos = position_of(path, header, id_column, "customer ids")
    else:
        id_pos = find_named(header, ID_NAMES, skip={time_pos})
    label_pos = None
    if label_column is not None:
        label_pos = position_of(path, header, label_column, "labels")
    elif not labels_from_file:
        label_pos = find_named(header, LABEL_NAMES, skip={time_pos, id_pos})
    taken = {time_pos, id_pos, label_pos}
    value_pos = find_named(header, VALUE_NAMES, skip=taken)
    if value_pos is None:
        numeric = [
            p
            for p in range(len(header))
            if p not in taken and pd.to_numeric(frame.iloc[:50, p], errors="coerce").notna().any()
        ]
        value_pos = numeric[0] if len(numeric) == 1 else None
    if id_pos is None:
        raise DataFileError(
            path,
            "this looks like a long file (one row per reading), but no customer id column was "
            f"found. Candidate columns: {', '.join(repr(str(h)) for h in header)}.",
            hint="Name the id column with --id-column NAME.",
        )
    if value_pos is None:
        raise DataFileError(
            path,
            "this looks like a long file, but the column with the readings (kWh) was not found "
            f"among {', '.join(repr(str(h)) for h in header)}.",
            hint="Name it 'kwh' or 'value', or keep only id, time and reading columns.",
        )
    return id_pos, time_pos, value_pos, label_pos


def read_long(
    path: Path,
    frame: pd.DataFrame,
    roles: tuple[int, int, int, int | None],
    state: TaskState,
    decimal: str = ".",
) -> ReadingTable:
    """Sum a long table to a customers x days matrix (see the module text for the rule)."""
    label_pos = roles[3]
    header = [str(h) for h in frame.columns]
    state.set_status(f"Reading {path.name}: timestamps")
    bad = BadCells()
    table, notes = _reading_rows(path, frame, roles, decimal, bad)
    state.check()

    interval = _interval(path, table)
    table, repeats = _repeated_readings(path, table, interval)
    notes += repeats
    per_day = max(1, round(pd.Timedelta(days=1) / interval))
    state.set_progress(0.5)
    state.check()

    order = pd.unique(table["customer"])
    kwh, calendar, day_notes = _daily_sums(table, order, per_day)
    notes += day_notes
    minutes = interval / pd.Timedelta(minutes=1)
    log.info(
        "%s: long file, %d readings every %g min, %d customers, %d days",
        path.name,
        len(table),
        minutes,
        len(order),
        len(calendar),
    )

    label_cells = _label_per_customer(path, table, order) if label_pos is not None else None
    first_rows = table.groupby("customer", sort=False)["row"].min().reindex(order).to_numpy()
    return ReadingTable(
        ids=np.asarray(order, dtype=object),
        rows=first_rows,
        kwh=kwh,
        calendar=calendar,
        day_names=[d.date().isoformat() for d in calendar],
        label_cells=label_cells,
        label_column=header[label_pos] if label_pos is not None else None,
        bad=bad,
        notes=notes,
        row_word="row",
        source_extra={"interval_minutes": float(minutes), "readings_per_day": int(per_day)},
    )


def _reading_rows(path: Path, frame: pd.DataFrame, roles, decimal: str, bad: BadCells):
    """One row per reading: customer, time, kwh, file row (and raw label when there is a label
    column); refuses unreadable times and rows without a customer, and skips (with a note)
    rows without a time."""
    id_pos, time_pos, value_pos, label_pos = roles
    header = [str(h) for h in frame.columns]
    stamps = parse_timestamps(frame.iloc[:, time_pos])
    unreadable = stamps.isna() & frame.iloc[:, time_pos].notna()
    if unreadable.any():
        where = np.flatnonzero(unreadable.to_numpy())
        shown = ", ".join(f"row {i + 2}: {str(frame.iat[i, time_pos])!r}" for i in where[:EXAMPLES])
        raise DataFileError(
            path,
            f"{len(where)} value(s) in column {header[time_pos]!r} are not dates: {shown}.",
            hint="Write times as YYYY-MM-DD HH:MM and import again.",
        )

    values = to_readings(frame.iloc[:, [value_pos]], decimal, [header[value_pos]], 2, bad)[:, 0]
    table = pd.DataFrame(
        {
            "customer": id_text(frame.iloc[:, id_pos]),
            "time": stamps.to_numpy(),
            "kwh": values,
            "row": np.arange(len(frame)) + 2,
        }
    )
    if label_pos is not None:
        table["label"] = frame.iloc[:, label_pos].to_numpy(dtype=object)
    if table["customer"].isna().any():
        rows = table.loc[table["customer"].isna(), "row"].tolist()[:EXAMPLES]
        raise DataFileError(
            path,
            f"{int(table['customer'].isna().sum())} row(s) have no customer id: "
            + ", ".join(f"row {r}" for r in rows)
            + ".",
        )

    notes = []
    untimed = table["time"].isna()
    if untimed.any():
        rows = [str(r) for r in table.loc[untimed, "row"].head(EXAMPLES)]
        notes.append(
            ImportNote(
                "rows_without_time",
                f"{int(untimed.sum())} row(s) have an empty {header[time_pos]!r} cell and were "
                f"skipped, e.g. row {rows[0]}.",
                int(untimed.sum()),
                [f"row {r}" for r in rows],
            )
        )
        table = table[~untimed]
    if table.empty:
        raise DataFileError(
            path,
            f"no row has a time in column {header[time_pos]!r}, so no reading can be placed.",
            hint="Export the readings with their timestamps.",
        )
    return table, notes


def _daily_sums(table: pd.DataFrame, order, per_day: int):
    """customers (in ``order``) x calendar float32 day totals, the calendar, and notes on days
    with too few readings (made missing) or a few missing (summed)."""
    needed = math.ceil(MIN_DAY_SHARE * per_day)
    table = table.assign(day=table["time"].dt.normalize())
    grouped = table.groupby(["customer", "day"], sort=False)["kwh"]
    sums = grouped.sum(min_count=1)
    counts = grouped.count()
    short = counts < needed
    partial = (counts >= needed) & (counts < per_day)
    sums[short] = np.nan

    calendar = pd.date_range(table["day"].min(), table["day"].max(), freq="D")
    matrix = sums.unstack("day").reindex(index=order, columns=calendar)
    kwh = np.ascontiguousarray(matrix.to_numpy(dtype=np.float32, na_value=np.nan))

    notes = []
    if short.any():
        notes.append(_day_note("days_incomplete", short, counts, per_day, made_missing=True))
    if partial.any() and per_day > 1:
        notes.append(_day_note("days_partial", partial, counts, per_day, made_missing=False))
    return kwh, calendar, notes


def _repeated_readings(
    path: Path, table: pd.DataFrame, interval: pd.Timedelta
) -> tuple[pd.DataFrame, list[ImportNote]]:
    """Drop exact repeats of a (customer, time, value) row; refuse two values for one time,
    except in the repeated hour of a clock change (see :func:`_clock_change_days`)."""
    key = ["customer", "time"]
    repeated = table.duplicated(key, keep=False).to_numpy()
    if not repeated.any():
        return table, []
    notes = []
    keep_all = np.zeros(len(table), dtype=bool)
    clash = table[repeated].groupby(key)["kwh"].nunique(dropna=False) > 1
    if clash.any():
        clashes = clash[clash].index.to_frame(index=False)
        changed = _clock_change_days(table.loc[repeated, key], clashes, interval)
        if changed is None:
            customer, when = clashes.iloc[0]
            raise DataFileError(
                path,
                f"customer {customer} has {int(clash.sum())} timestamp(s) with two different "
                f"readings, e.g. {pd.Timestamp(when)}.",
                hint="Keep one reading per customer and time and import again.",
            )
        keep_all = _customer_days(table).isin(changed) & repeated
        examples = [f"customer {c}, {d.date().isoformat()}" for c, d in changed[:EXAMPLES]]
        notes.append(
            ImportNote(
                "clock_change",
                f"{len(changed)} customer-day(s) repeat one night-time hour of timestamps with "
                "different readings, as the clock change back from summer time does; every "
                f"reading of that hour was counted, e.g. {examples[0]}.",
                len(changed),
                examples,
            )
        )

    exact = table.duplicated([*key, "kwh"]).to_numpy() & ~keep_all
    if exact.any():
        notes.append(
            ImportNote(
                "readings_repeated",
                f"{int(exact.sum())} repeated reading row(s) (same customer, time and value) "
                "were kept once.",
                int(exact.sum()),
            )
        )
    return table[~exact], notes


def _customer_days(rows: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([rows["customer"], rows["time"].dt.normalize()])


def _clock_change_days(
    repeats: pd.DataFrame, clashes: pd.DataFrame, interval: pd.Timedelta
) -> pd.MultiIndex | None:
    """The (customer, day) pairs of ``clashes`` explained by a clock change, or None.

    Meter systems that write local time without an offset repeat one hour each autumn, when
    the clock goes back (between midnight and 4 a.m.), with the readings of two real intervals:
    every interval of exactly one hour appears twice, some perhaps with equal readings. So on
    each day with a clash, the repeated timestamps (``repeats``) must be one such hour.
    Anything else is a real conflict.
    """
    hour = pd.Timedelta(hours=1)
    if interval > hour or hour % interval != pd.Timedelta(0):
        return None
    repeats = repeats.drop_duplicates()
    repeats = repeats[_customer_days(repeats).isin(_customer_days(clashes))]
    days = repeats.assign(day=repeats["time"].dt.normalize()).groupby(["customer", "day"])
    first, last, count = days["time"].min(), days["time"].max(), days["time"].count()
    one_hour = (count == hour // interval) & (last - first == hour - interval)
    at_night = (first - first.dt.normalize()) < pd.Timedelta(hours=4)
    if not (one_hour & at_night).all():
        return None
    return first.index


def _interval(path: Path, table: pd.DataFrame) -> pd.Timedelta:
    ordered = table.sort_values(["customer", "time"])
    gaps = ordered["time"].diff()
    same = ordered["customer"].eq(ordered["customer"].shift())
    gaps = gaps[same & (gaps > pd.Timedelta(0))]
    if gaps.empty:
        return pd.Timedelta(days=1)
    interval = gaps.mode().iloc[0]
    if interval > pd.Timedelta(days=1):
        raise DataFileError(
            path,
            f"readings are {interval} apart; daily or shorter intervals are needed.",
            hint="Export daily (or 15/30-minute) readings.",
        )
    if pd.Timedelta(days=1) % interval != pd.Timedelta(0):
        raise DataFileError(
            path,
            f"the reading interval ({interval}) does not divide a day evenly.",
            hint="Export readings at a regular interval such as 15 or 30 minutes.",
        )
    return interval


def _day_note(kind, mask, counts, per_day, *, made_missing) -> ImportNote:
    hits = counts[mask]
    examples = [
        f"customer {c}, {d.date().isoformat()}: {n} of {per_day} readings"
        for (c, d), n in hits.head(EXAMPLES).items()
    ]
    if made_missing:
        message = (
            f"{len(hits)} customer-day(s) had fewer than {MIN_DAY_SHARE:.0%} of the {per_day} "
            f"readings a day needs and were made missing, e.g. {examples[0]}."
        )
    else:
        message = (
            f"{len(hits)} customer-day(s) lack a few of their {per_day} readings (at least "
            f"{MIN_DAY_SHARE:.0%} present) and were summed as they are, e.g. {examples[0]}."
        )
    return ImportNote(kind, message, len(hits), examples)


def _label_per_customer(path: Path, table: pd.DataFrame, order) -> pd.Series:
    """One raw label cell per customer (in ``order``); refuses a customer with two labels."""
    cells = pd.Series(table["label"].to_numpy(dtype=object)).astype("string")
    cells = cells.str.strip().replace("", pd.NA)
    per = pd.DataFrame({"customer": table["customer"].to_numpy(dtype=object), "label": cells})
    per = per.dropna(subset=["label"])
    distinct = per.groupby("customer")["label"].nunique()
    clash = distinct[distinct > 1]
    if len(clash):
        raise DataFileError(
            path,
            f"{len(clash)} customer(s) have different labels on different rows, e.g. "
            f"{', '.join(map(str, clash.index[:EXAMPLES]))}.",
            hint="Give each customer one label.",
        )
    first = per.groupby("customer")["label"].first()
    return pd.Series(first.reindex(order).to_numpy(dtype=object), dtype=object)
