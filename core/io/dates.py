"""Reading day headers and timestamps the way meter exports write them.

Wide files name their day columns in many styles. The rules, applied to the whole header at
once so that one ambiguous column cannot be read differently from its neighbours:

- ``2014/1/1``, ``2014-01-01``, ``2014.1.1`` (optionally followed by a time such as
  ``00:00:00``) are year first, then month, then day. They are never read day first: a
  day-first parser would turn ``2014/1/10`` into the first of October.
- ``1/13/2014``, ``01/01/2014`` (year last, padding may change part-way) are month first, as in
  the SGCC copies, unless some header has a first field above 12 and none has a second field
  above 12: then the whole header is day first (``13/01/2014``). A header that needs both
  readings is refused. When no field is above 12 (a file of the first twelve days of months),
  both readings are real dates: the one whose days lie closer together wins (``01.01.2014,
  02.01.2014`` are two consecutive days, not the first of January and of February), and on a tie
  month first, except with dots (``01.02.2014``), which are always day first.
- Real date or datetime cells (from spreadsheets or Parquet) are taken as they are.

A header that looks like a date (digits, separators, a four-digit year) but is not a real
calendar day (``2014/2/30``) is reported, never skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_YEAR_FIRST = re.compile(
    r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$"
)
_YEAR_LAST = re.compile(
    r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$"
)
# Compact ISO (20140101) is accepted only when the whole header is in that style.
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
# Anything that a reader would take for a date: used to refuse a bad one instead of ignoring it.
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b")


class AmbiguousDaysError(ValueError):
    """The day headers cannot all be read with one convention; the reader names the file."""


@dataclass
class DayHeaders:
    """Which header columns are days, and which day each one is.

    ``positions`` index into the original header; ``days`` are the matching midnight timestamps
    in the same order (not sorted). ``style`` names the convention used, for the import report.
    """

    positions: list[int]
    days: list[pd.Timestamp]
    style: str
    unparseable: list[str]


def _as_day(value) -> pd.Timestamp | None:
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_localize(None)
        return stamp.normalize()
    return None


def _safe_day(year: int, month: int, day: int) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(dt.date(year, month, day))
    except ValueError:
        return None


def read_day_headers(header: Sequence) -> DayHeaders:
    """Find the day columns among ``header`` names (strings or date cells).

    Columns that do not look like dates at all are left out (they are ids, labels or extra
    columns, for the caller to sort out). Date-like names that are not real days are listed in
    ``unparseable``.
    """
    positions: list[int] = []
    days: list[pd.Timestamp] = []
    unparseable: list[str] = []
    year_last: list[tuple[int, int, int, int]] = []  # position, first, second, year
    compact: list[tuple[int, str]] = []
    styles: set[str] = set()
    dotted = 0

    for pos, name in enumerate(header):
        cell_day = _as_day(name)
        if cell_day is not None:
            positions.append(pos)
            days.append(cell_day)
            styles.add("date cells")
            continue
        text = str(name)
        match = _YEAR_FIRST.match(text)
        if match:
            day = _safe_day(int(match[1]), int(match[2]), int(match[3]))
            if day is None:
                unparseable.append(text)
            else:
                positions.append(pos)
                days.append(day)
                styles.add("year/month/day")
            continue
        match = _YEAR_LAST.match(text)
        if match:
            year_last.append((pos, int(match[1]), int(match[2]), int(match[3])))
            dotted += "." in text
            continue
        match = _COMPACT.match(text)
        if match:
            compact.append((pos, text))
            continue
        if _DATE_LIKE.match(text):
            unparseable.append(text)

    if year_last:
        day_first = _year_last_is_day_first(year_last, header, dotted=dotted == len(year_last))
        styles.add("day/month/year" if day_first else "month/day/year")
        for pos, first, second, year in year_last:
            month, day = (second, first) if day_first else (first, second)
            stamp = _safe_day(year, month, day)
            if stamp is None:
                unparseable.append(str(header[pos]))
            else:
                positions.append(pos)
                days.append(stamp)

    # Eight-digit numbers are dates only when they are most of the header (ids can be numeric).
    if compact and len(compact) >= max(2, len(header) // 2):
        styles.add("yyyymmdd")
        for pos, text in compact:
            stamp = _safe_day(int(text[:4]), int(text[4:6]), int(text[6:8]))
            if stamp is None:
                unparseable.append(text.strip())
            else:
                positions.append(pos)
                days.append(stamp)

    order = np.argsort(positions, kind="stable")
    return DayHeaders(
        positions=[positions[i] for i in order],
        days=[days[i] for i in order],
        style=", ".join(sorted(styles)) or "none",
        unparseable=unparseable,
    )


def _year_last_is_day_first(
    fields: list[tuple[int, int, int, int]], header: Sequence, *, dotted: bool
) -> bool:
    first_big = [header[p] for p, a, _, _ in fields if a > 12]
    second_big = [header[p] for p, _, b, _ in fields if b > 12]
    if first_big and second_big:
        raise AmbiguousDaysError(
            f"the day headers mix day-first ({first_big[0]!r}) and month-first "
            f"({second_big[0]!r}) dates, so no single reading of them is right. Rename the "
            "day columns to ISO dates (YYYY-MM-DD) and import again."
        )
    if first_big or second_big:
        return bool(first_big)
    month_first = _span([(y, a, b) for _, a, b, y in fields])
    day_first = _span([(y, b, a) for _, a, b, y in fields])
    if day_first != month_first:
        return day_first < month_first
    return dotted


def _span(dates: list[tuple[int, int, int]]) -> float:
    """Days from the first to the last of ``dates`` (year, month, day); inf if one is unreal."""
    days = [_safe_day(*d) for d in dates]
    if any(d is None for d in days):
        return float("inf")
    return (max(days) - min(days)).days


def looks_like_timestamps(values: pd.Series) -> bool:
    """True when most non-empty ``values`` read as dates or date-times (a long file's time)."""
    sample = values.dropna().astype(str).head(50)
    if sample.empty:
        return False
    hits = sum(bool(_YEAR_FIRST.match(v) or _YEAR_LAST.match(v)) for v in sample)
    return hits >= 0.8 * len(sample)


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Timestamps of a long file's time column, year-first or month-first as in headers.

    Returns naive datetimes (time zones are dropped after conversion to their local clock);
    NaT where a value cannot be read.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values)
    else:
        text = values.astype("string").str.strip()
        sample = text.dropna().head(200)
        year_first = sample.str.match(r"^\d{4}").mean() >= 0.5 if len(sample) else True
        if year_first:
            out = pd.to_datetime(text, errors="coerce", format="mixed", yearfirst=True)
        else:
            firsts = sample.str.extract(r"^(\d{1,2})[-/.](\d{1,2})").astype(float)
            first_big, second_big = bool((firsts[0] > 12).any()), bool((firsts[1] > 12).any())
            if first_big or second_big:
                day_first = first_big and not second_big
            else:  # no evidence either way: dots are day first, as in headers
                day_first = bool(sample.str.match(r"^\d{1,2}\.\d{1,2}\.").all())
            out = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=day_first)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def sgcc_header(day: pd.Timestamp) -> str:
    """The canonical SGCC header for one day: ``2014/1/1`` (no padding)."""
    return f"{day.year}/{day.month}/{day.day}"
