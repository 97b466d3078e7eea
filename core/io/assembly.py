"""From a table of readings to a checked :class:`ConsumptionData`, with its import notes.

Every reader (wide text, spreadsheet, Parquet, long format) ends in a :class:`ReadingTable`:
customers x calendar days, in file order, plus the raw label cells. This module applies the
checks that do not depend on the layout, in this order, and says what each one did:

1. every row has a customer id (else refused, naming the rows);
2. labels are 0/1 or empty (else refused), or come from a labels file;
3. non-numeric cells were made missing (note ``cells_coerced``), and so were infinite ones
   (``infinite_readings``);
4. **negative readings are made missing** (note ``negative_readings``): a day's consumption
   cannot be below zero, so a negative value is a meter fault, a reversed sign or a net-metering
   export, and keeping it would bias every statistic and the scaler. The count and examples are
   reported so the user can check the meter;
5. a customer listed twice with identical rows is kept once (note ``duplicates_merged``); with
   different readings or labels the import is refused, naming the ids;
6. calendar days absent from the file were inserted as all-missing days (``days_inserted``);
7. customers with no reading at all, days with no reading for anyone, customers that are zero
   on every day, and a single class are kept and noted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.dataset import THEFT, UNKNOWN, ConsumptionData, ImportNote
from core.errors import DataFileError
from core.io.labels import parse_labels
from core.io.readings import EXAMPLES, BadCells

log = logging.getLogger(__name__)

_SCIENTIFIC_ID = re.compile(r"^\d(?:\.\d+)?E\+\d+\b", re.IGNORECASE)


@dataclass
class ReadingTable:
    """What a reader found, before the common checks.

    ``kwh`` is customers x ``calendar`` (complete, daily, in order), NaN where there is no
    reading. ``day_names`` gives, per calendar day, the file's name for it (header or date), or
    None for a day the file did not have. ``rows`` are file row numbers for messages.
    """

    ids: np.ndarray
    rows: np.ndarray
    kwh: np.ndarray
    calendar: pd.DatetimeIndex
    day_names: list[str | None]
    label_cells: pd.Series | None = None
    label_column: str | None = None
    bad: BadCells = field(default_factory=BadCells)
    notes: list[ImportNote] = field(default_factory=list)
    row_word: str = "row"
    source_extra: dict = field(default_factory=dict)


def calendar_of(days: list[pd.Timestamp]) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The complete daily calendar spanning ``days``, and each day's position in it."""
    stamps = pd.DatetimeIndex(days)
    calendar = pd.date_range(stamps.min(), stamps.max(), freq="D")
    positions = ((stamps - calendar[0]) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    return calendar, positions


def _examples(items, limit: int = EXAMPLES) -> list[str]:
    return [str(x) for x in list(items)[:limit]]


def _shown(items: list[str]) -> str:
    return ", ".join(items)


def finish(
    path: Path,
    table: ReadingTable,
    *,
    labels_map: dict[str, int] | None,
    source: dict,
) -> ConsumptionData:
    """Apply the common checks to ``table`` and build the data set (see the module text)."""
    notes = list(table.notes)
    ids = np.asarray(table.ids, dtype=object)
    kwh = table.kwh

    if len(ids) == 0:
        raise DataFileError(
            path,
            "the file has a header but no customer rows.",
            hint="Export the readings themselves, not only the column names.",
        )
    blank = np.array(
        [c is None or (isinstance(c, float) and np.isnan(c)) or str(c).strip() == "" for c in ids]
    )
    if blank.any():
        rows = table.rows[blank]
        raise DataFileError(
            path,
            f"{int(blank.sum())} {table.row_word}(s) have no customer id: "
            f"{_shown([f'{table.row_word} {r}' for r in _examples(rows)])}.",
            hint="Fill in the ids or delete those rows.",
        )
    ids = np.array([str(c).strip() for c in ids], dtype=object)
    _note_scientific_ids(ids, notes)

    labels = _labels(path, table, ids, labels_map, notes)
    _note_bad_cells(table, notes)
    # fmin/fmax skip NaN and allocate nothing: the masks below are built only when needed.
    lowest = np.fmin.reduce(kwh, axis=None) if kwh.size else 0.0
    highest = np.fmax.reduce(kwh, axis=None) if kwh.size else 0.0
    if np.isinf(lowest) or np.isinf(highest):
        _infinite_to_missing(table, ids, kwh, notes)
        lowest = np.fmin.reduce(kwh, axis=None)
    if lowest < 0:
        _negative_to_missing(table, ids, kwh, notes)
    ids, kwh, labels, rows = _merge_duplicates(path, table, ids, kwh, labels, notes)
    _note_calendar(table, kwh, ids, labels, notes)

    data = ConsumptionData(ids, table.calendar, kwh, labels, notes=notes, source=source)
    log.info("imported %s: %r, %d notes", path.name, data, len(notes))
    return data


def _note_scientific_ids(ids: np.ndarray, notes: list[ImportNote]) -> None:
    mangled = [c for c in ids if _SCIENTIFIC_ID.match(c)]
    if mangled:
        notes.append(
            ImportNote(
                "ids_scientific",
                f"{len(mangled)} customer id(s) look like numbers a spreadsheet rewrote in "
                f"scientific notation (e.g. {mangled[0]}); their digits may be lost. Export the "
                "id column as text to keep them.",
                len(mangled),
                _examples(mangled),
            )
        )


def _labels(path, table, ids, labels_map, notes) -> np.ndarray:
    if labels_map is not None:
        labels = np.array([labels_map.get(c, UNKNOWN) for c in ids], dtype=np.int8)
        missing = [c for c in ids if c not in labels_map]
        if missing:
            notes.append(
                ImportNote(
                    "labels_missing",
                    f"{len(missing)} customer(s) are not in the labels file and stay unlabelled.",
                    len(missing),
                    _examples(missing),
                )
            )
        known = set(ids)
        unused = [c for c in labels_map if c not in known]
        if unused:
            notes.append(
                ImportNote(
                    "labels_unused",
                    f"{len(unused)} customer(s) in the labels file are not in the data file.",
                    len(unused),
                    _examples(unused),
                )
            )
        return labels
    if table.label_cells is not None:
        return parse_labels(path, table.label_cells, ids, table.label_column, table.rows)
    notes.append(
        ImportNote(
            "unlabelled",
            f"No label column: all {len(ids)} customers are unlabelled (can be scored, not "
            "used for training).",
            len(ids),
        )
    )
    return np.full(len(ids), UNKNOWN, dtype=np.int8)


def _note_bad_cells(table: ReadingTable, notes: list[ImportNote]) -> None:
    if table.bad.count:
        notes.append(
            ImportNote(
                "cells_coerced",
                f"{table.bad.count} cell(s) are not numbers and were made missing, e.g. "
                f"{_shown(table.bad.examples[:3])}.",
                table.bad.count,
                list(table.bad.examples),
            )
        )


def _cell_examples(table, ids, mask, kwh=None) -> list[str]:
    """The first few flagged cells as 'row 12 (customer A), 2014-01-02[: value]'."""
    rows, cols = np.nonzero(mask)
    examples = []
    for r, c in zip(rows[:EXAMPLES], cols[:EXAMPLES], strict=True):
        text = f"{table.row_word} {table.rows[r]} (customer {ids[r]}), {table.day_names[c]}"
        examples.append(text if kwh is None else f"{text}: {kwh[r, c]:g}")
    return examples


def _infinite_to_missing(table, ids, kwh, notes) -> None:
    infinite = np.isinf(kwh)
    count = int(infinite.sum())
    if not count:
        return
    examples = _cell_examples(table, ids, infinite)
    kwh[infinite] = np.nan
    notes.append(
        ImportNote(
            "infinite_readings",
            f"{count} reading(s) were infinite ('inf' in the file, or too large for a float) "
            f"and were made missing, e.g. {_shown(examples[:3])}.",
            count,
            examples,
        )
    )


def _negative_to_missing(table, ids, kwh, notes) -> None:
    with np.errstate(invalid="ignore"):
        negative = kwh < 0
    count = int(negative.sum())
    if not count:
        return
    examples = _cell_examples(table, ids, negative, kwh)
    kwh[negative] = np.nan
    notes.append(
        ImportNote(
            "negative_readings",
            f"{count} negative reading(s) were made missing (a day's consumption cannot be "
            f"negative; check these meters), e.g. {_shown(examples[:3])}.",
            count,
            examples,
        )
    )


def _merge_duplicates(path, table, ids, kwh, labels, notes):
    rows = table.rows
    duplicated = pd.Index(ids).duplicated(keep=False)
    if not duplicated.any():
        return ids, kwh, labels, rows

    keep = np.ones(len(ids), dtype=bool)
    conflicting: list[str] = []
    merged: list[str] = []
    groups = pd.Series(np.flatnonzero(duplicated)).groupby(ids[duplicated])
    for customer, members in groups:
        members = members.to_numpy()
        first = members[0]
        for other in members[1:]:
            same = labels[other] == labels[first] and np.array_equal(
                kwh[first], kwh[other], equal_nan=True
            )
            if not same:
                row_list = ", ".join(str(rows[m]) for m in members)
                conflicting.append(f"{customer} ({table.row_word}s {row_list})")
                break
            keep[other] = False
        else:
            merged.append(str(customer))
    if conflicting:
        hint = "Give each customer one row (or distinct ids) and import again."
        if any(_SCIENTIFIC_ID.match(c) for c in conflicting):
            hint = (
                "These ids look like long numbers that a spreadsheet rewrote in scientific "
                "notation (1.23457E+15), which merges different customers: export the file "
                "again with the id column formatted as text."
            )
        raise DataFileError(
            path,
            f"{len(conflicting)} customer id(s) appear more than once with different readings "
            f"or labels: {_shown(conflicting[:EXAMPLES])}.",
            hint=hint,
        )
    removed = int((~keep).sum())
    notes.append(
        ImportNote(
            "duplicates_merged",
            f"{len(merged)} customer(s) appeared on identical duplicate rows; each is kept once "
            f"({removed} row(s) dropped).",
            len(merged),
            _examples(merged),
        )
    )
    return ids[keep], np.ascontiguousarray(kwh[keep]), labels[keep], rows[keep]


def _note_calendar(table, kwh, ids, labels, notes) -> None:
    inserted = [d for d, name in zip(table.calendar, table.day_names, strict=True) if name is None]
    if inserted:
        dates = [d.date().isoformat() for d in inserted]
        notes.append(
            ImportNote(
                "days_inserted",
                f"{len(dates)} calendar day(s) absent from the file were added with no readings: "
                f"{_shown(dates[:EXAMPLES])}{' ...' if len(dates) > EXAMPLES else ''}.",
                len(dates),
                _examples(dates),
            )
        )

    # Largest reading per customer and per day (NaN where there is none): one pass each and
    # no mask the size of the matrix. Negative readings are already missing here, so a largest
    # reading of 0 means a customer is zero on every day with a reading.
    customer_max = np.fmax.reduce(kwh, axis=1) if kwh.shape[0] else np.zeros(0, np.float32)
    day_max = np.fmax.reduce(kwh, axis=0) if kwh.shape[0] else np.full(kwh.shape[1], np.nan)
    empty_customers = ids[np.isnan(customer_max)]
    if len(empty_customers):
        notes.append(
            ImportNote(
                "customers_without_readings",
                f"{len(empty_customers)} customer(s) have no reading on any day (kept; the "
                "cleaning filter drops them).",
                len(empty_customers),
                _examples(empty_customers),
            )
        )
    file_day = np.array([name is not None for name in table.day_names])
    empty_days = table.calendar[file_day & np.isnan(day_max)]
    if len(empty_days):
        dates = [d.date().isoformat() for d in empty_days]
        notes.append(
            ImportNote(
                "days_without_readings",
                f"{len(dates)} day(s) have no reading for any customer: "
                f"{_shown(dates[:EXAMPLES])}.",
                len(dates),
                _examples(dates),
            )
        )
    all_zero = customer_max == 0
    if all_zero.any():
        notes.append(
            ImportNote(
                "customers_all_zero",
                f"{int(all_zero.sum())} customer(s) read zero on every day with a reading (kept).",
                int(all_zero.sum()),
                _examples(ids[all_zero]),
            )
        )
    known = labels[labels != UNKNOWN]
    if len(known) and len(np.unique(known)) == 1:
        word = "theft" if known[0] == THEFT else "normal"
        other = "normal" if known[0] == THEFT else "theft"
        notes.append(
            ImportNote(
                "one_class",
                f"Every labelled customer is {word}; a model needs {other} customers too "
                "(fine for scoring or exploring).",
                len(known),
            )
        )
