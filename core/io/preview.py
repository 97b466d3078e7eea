"""A quick look at a data file before importing it (the import page of the app).

Only the first :data:`PREVIEW_ROWS` rows are read. Problems the user can solve on the import
page (an id column that was not recognised, a calendar gap) become ``warnings`` instead of
errors, so the page can offer ``candidate_columns`` to pick from; a file that cannot be read at
all (missing, empty, an old .xls) still raises :class:`DataFileError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import DataFileError
from core.io.columns import read_day_headers_of, wide_columns
from core.io.dates import parse_timestamps
from core.io.long import long_roles
from core.io.reading import check_path, no_day_columns, read_text_cells
from core.io.sniffing import sniff_dialect, sniff_format
from core.io.spreadsheets import parquet_rows, read_parquet, read_xlsx

log = logging.getLogger(__name__)

PREVIEW_ROWS = 200


@dataclass
class ImportPreview:
    """What the importer would do with a file, from its first rows."""

    layout: str
    format: str
    delimiter: str | None
    decimal: str | None
    encoding: str | None
    id_column: str | None
    label_column: str | None
    candidate_columns: list[str]
    first_day: str | None
    last_day: str | None
    n_customers: int
    n_days: int
    warnings: list[str] = field(default_factory=list)
    sheet: str | None = None


def preview(
    path,
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    labels_path=None,
    sheet: str | None = None,
) -> ImportPreview:
    """Sniff ``path`` and read its first rows; see :class:`ImportPreview`."""
    path = check_path(path)
    head = _first_rows(path, sheet)
    frame, warnings = head.frame, head.warnings
    header = list(frame.columns)
    days = read_day_headers_of(path, header)
    labels_from_file = labels_path is not None
    roles = {
        "id_column": id_column,
        "label_column": label_column,
        "labels_from_file": labels_from_file,
    }

    if days.positions or days.unparseable:
        layout = "wide"
        found = _wide_look(path, header, days, roles, warnings)
        n_customers = head.total_rows
    else:
        layout = "long"
        found, n_customers = _long_look(path, frame, roles, warnings)
    found_id, found_label, first_day, last_day, n_days = found

    if found_label is None and not labels_from_file:
        warnings.append("No label column: customers will be unlabelled (scoring only).")
    log.debug("preview %s: %s, %s, id=%s", path.name, head.format, layout, found_id)
    return ImportPreview(
        layout=layout,
        format=head.format,
        delimiter=head.delimiter,
        decimal=head.decimal,
        encoding=head.encoding,
        id_column=found_id,
        label_column=found_label,
        candidate_columns=[str(h) for p, h in enumerate(header) if p not in set(days.positions)],
        first_day=first_day,
        last_day=last_day,
        n_customers=int(n_customers),
        n_days=int(n_days),
        warnings=warnings,
        sheet=head.sheet,
    )


@dataclass
class _Head:
    """The first rows of a file and how they were read."""

    frame: pd.DataFrame
    total_rows: int
    format: str
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    warnings: list[str] = field(default_factory=list)


def _first_rows(path: Path, sheet: str | None) -> _Head:
    fmt = sniff_format(path)
    if fmt == "xlsx":
        frame, chosen = read_xlsx(path, sheet, nrows=PREVIEW_ROWS)
        return _Head(frame, _xlsx_rows(path, chosen, len(frame)), fmt, sheet=chosen)
    if fmt == "parquet":
        frame = read_parquet(path, nrows=PREVIEW_ROWS)
        return _Head(frame, parquet_rows(path), fmt)

    dialect = sniff_dialect(path)
    frame = read_text_cells(path, dialect, nrows=PREVIEW_ROWS)
    estimated = int(round(path.stat().st_size / max(dialect.bytes_per_row, 1.0)))
    head = _Head(
        frame,
        len(frame) if len(frame) < PREVIEW_ROWS else estimated,
        fmt,
        delimiter=dialect.delimiter,
        decimal=dialect.decimal,
        encoding=dialect.encoding,
    )
    if dialect.encoding == "latin-1":
        head.warnings.append(
            "The text is neither UTF-8 nor GB18030; it was read as Latin-1. Check that "
            "the column names look right."
        )
    return head


def _wide_look(path: Path, header: list, days, roles: dict, warnings: list[str]):
    """(id column, label column, first day, last day, day count) of a wide file."""
    found_id = found_label = first_day = last_day = None
    n_days = 0
    try:
        columns = wide_columns(path, header, **roles)
        found_id = str(header[columns.id_pos])
        if columns.label_pos is not None:
            found_label = str(header[columns.label_pos])
    except DataFileError as err:
        warnings.append(str(err))
    if days.positions:
        stamps = pd.DatetimeIndex(days.days)
        first, last = stamps.min(), stamps.max()
        first_day, last_day = first.date().isoformat(), last.date().isoformat()
        n_days = (last - first).days + 1
        absent = n_days - len(set(stamps))
        if absent > 0:
            warnings.append(f"{absent} calendar day(s) are absent and will be added as empty.")
    return found_id, found_label, first_day, last_day, n_days


def _long_look(path: Path, frame: pd.DataFrame, roles: dict, warnings: list[str]):
    """Like :func:`_wide_look` for a long file, plus the customers seen in the first rows."""
    header = list(frame.columns)
    try:
        found = long_roles(path, frame, **roles)
    except DataFileError as err:
        warnings.append(str(err))
        return (None, None, None, None, 0), 0
    if found is None:
        warnings.append(no_day_columns(path, header).message)
        return (None, None, None, None, 0), 0

    id_pos, time_pos, _, label_pos = found
    first_day = last_day = None
    n_days = 0
    stamps = parse_timestamps(frame.iloc[:, time_pos]).dropna()
    if len(stamps):
        first_day = stamps.min().date().isoformat()
        last_day = stamps.max().date().isoformat()
        n_days = (stamps.max().normalize() - stamps.min().normalize()).days + 1
    warnings.append(
        "Long file: the number of customers and the date range are estimated from the "
        f"first {len(frame)} rows."
    )
    found_label = str(header[label_pos]) if label_pos is not None else None
    look = (str(header[id_pos]), found_label, first_day, last_day, n_days)
    return look, int(frame.iloc[:, id_pos].nunique())


def _xlsx_rows(path: Path, sheet: str, fallback: int) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        rows = book[sheet].max_row
    finally:
        book.close()
    return max(fallback, (rows or 1) - 1)
