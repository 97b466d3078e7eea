"""Which column holds the customer id, which the label, and which the days.

Common names are recognised whatever their case, spacing or punctuation (``CONS_NO``,
``Customer ID``, ``meter-id``, ``FLAG``, ``Label``, ...), including the Chinese names seen in
State Grid exports. Any other name is used only when the user names it (``id_column=`` /
``--id-column``); nothing is guessed from the contents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DataFileError
from core.io.dates import AmbiguousDaysError, DayHeaders, read_day_headers

ID_NAMES = (
    "cons_no",
    "consno",
    "customer",
    "customer_id",
    "customerid",
    "customer_no",
    "consumer_id",
    "meter_id",
    "meterid",
    "meter",
    "id",
    "用户编号",
    "户号",
    "用户号",
)
LABEL_NAMES = ("flag", "label", "theft", "class", "is_theft", "标签", "窃电")
TIME_NAMES = (
    "timestamp",
    "datetime",
    "date_time",
    "time",
    "date",
    "day",
    "reading_time",
    "read_time",
    "日期",
    "时间",
)
VALUE_NAMES = (
    "kwh",
    "value",
    "consumption",
    "reading",
    "energy",
    "usage",
    "load",
    "用电量",
    "电量",
)


def normalise_name(name) -> str:
    """``' Customer-ID '`` -> ``'customer_id'``: how names are compared."""
    text = str(name).strip().lower()
    return re.sub(r"[\s\-.]+", "_", text)


def find_named(header: Sequence, wanted: Sequence[str], skip: set[int] | None = None) -> int | None:
    """Position of the first header whose normalised name is in ``wanted`` (in ``wanted``'s
    order of preference), or None."""
    names = [normalise_name(h) for h in header]
    for candidate in wanted:
        for pos, name in enumerate(names):
            if name == candidate and pos not in (skip or set()):
                return pos
    return None


def position_of(path: Path, header: Sequence, name: str, what: str) -> int:
    """Position of a column the user named; an error listing the columns when it is absent."""
    exact = [pos for pos, h in enumerate(header) if str(h).strip() == str(name).strip()]
    if exact:
        return exact[0]
    loose = [pos for pos, h in enumerate(header) if normalise_name(h) == normalise_name(name)]
    if loose:
        return loose[0]
    raise DataFileError(
        path,
        f"there is no column {name!r} for the {what}. Columns: {_listing(header)}.",
        hint=f"Pick one of these names for the {what}.",
    )


def _listing(header: Sequence, limit: int = 12) -> str:
    names = [repr(str(h)) for h in header[:limit]]
    if len(header) > limit:
        names.append(f"... ({len(header)} columns)")
    return ", ".join(names)


@dataclass
class WideColumns:
    """The roles of a wide file's columns (positions into its header)."""

    id_pos: int
    label_pos: int | None
    days: DayHeaders
    extra: list[int] = field(default_factory=list)

    @property
    def day_positions(self) -> list[int]:
        return self.days.positions


def read_day_headers_of(path: Path, header: Sequence) -> DayHeaders:
    """:func:`read_day_headers`, with its refusal turned into an error naming the file."""
    try:
        return read_day_headers(header)
    except AmbiguousDaysError as err:
        raise DataFileError(path, str(err)) from err


def wide_columns(
    path: Path,
    header: Sequence,
    *,
    id_column: str | None,
    label_column: str | None,
    labels_from_file: bool,
) -> WideColumns:
    """Assign id, label, day and extra roles to a wide header, or say what is wrong.

    ``labels_from_file`` (labels come from a second file) means no label column is looked for.
    """
    days = read_day_headers_of(path, header)
    day_set = set(days.positions)

    if days.unparseable:
        shown = ", ".join(repr(u) for u in days.unparseable[:5])
        raise DataFileError(
            path,
            f"{len(days.unparseable)} day column(s) are not real calendar dates: {shown}.",
            hint="Correct those headers (YYYY-MM-DD is always safe) and import again.",
        )

    others = [pos for pos in range(len(header)) if pos not in day_set]
    if id_column is not None:
        id_pos = position_of(path, header, id_column, "customer ids")
    else:
        id_pos = find_named([header[p] for p in others], ID_NAMES)
        id_pos = others[id_pos] if id_pos is not None else None
    if id_pos is None:
        candidates = [header[p] for p in others] or list(header)
        raise DataFileError(
            path,
            f"no customer id column was found. Candidate columns: {_listing(candidates)}.",
            hint="Name the id column with --id-column NAME (in the app: the Id column box).",
        )

    label_pos = None
    if label_column is not None:
        label_pos = position_of(path, header, label_column, "labels")
    elif not labels_from_file:
        rest = [p for p in others if p != id_pos]
        found = find_named([header[p] for p in rest], LABEL_NAMES)
        label_pos = rest[found] if found is not None else None
    if label_pos == id_pos:
        raise DataFileError(
            path, f"column {header[id_pos]!r} cannot be both the customer id and the label."
        )

    extra = [p for p in others if p not in (id_pos, label_pos)]
    return WideColumns(id_pos=id_pos, label_pos=label_pos, days=days, extra=extra)


def duplicate_days(path: Path, header: Sequence, days: DayHeaders) -> None:
    """Refuse two columns that fall on the same calendar day, naming both."""
    seen: dict = {}
    for pos, day in zip(days.positions, days.days, strict=True):
        if day in seen:
            first = header[seen[day]]
            raise DataFileError(
                path,
                f"columns {str(first)!r} and {str(header[pos])!r} are both the day "
                f"{day.date().isoformat()}.",
                hint="Keep one column per day (delete or merge the other) and import again.",
            )
        seen[day] = pos
