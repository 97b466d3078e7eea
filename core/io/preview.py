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
    fmt = sniff_format(path)
    warnings: list[str] = []
    delimiter = decimal = encoding = None
    chosen_sheet = None

    if fmt == "csv":
        dialect = sniff_dialect(path)
        delimiter, decimal, encoding = dialect.delimiter, dialect.decimal, dialect.encoding
        frame = read_text_cells(path, dialect, nrows=PREVIEW_ROWS)
        size = path.stat().st_size
        estimated = int(round(size / max(dialect.bytes_per_row, 1.0)))
        total_rows = len(frame) if len(frame) < PREVIEW_ROWS else estimated
        if encoding == "latin-1":
            warnings.append(
                "The text is neither UTF-8 nor GB18030; it was read as Latin-1. Check that "
                "the column names look right."
            )
    elif fmt == "xlsx":
        frame, chosen_sheet = read_xlsx(path, sheet, nrows=PREVIEW_ROWS)
        total_rows = _xlsx_rows(path, chosen_sheet, len(frame))
    else:
        frame = read_parquet(path, nrows=PREVIEW_ROWS)
        total_rows = parquet_rows(path)

    header = list(frame.columns)
    days = read_day_headers_of(path, header)
    labels_from_file = labels_path is not None
    candidates = [str(header[p]) for p in range(len(header)) if p not in set(days.positions)]
    found_id = found_label = None
    first_day = last_day = None
    n_days = 0

    if days.positions or days.unparseable:
        layout = "wide"
        try:
            columns = wide_columns(
                path,
                header,
                id_column=id_column,
                label_column=label_column,
                labels_from_file=labels_from_file,
            )
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
        n_customers = total_rows
    else:
        layout = "long"
        try:
            roles = long_roles(
                path,
                frame,
                id_column=id_column,
                label_column=label_column,
                labels_from_file=labels_from_file,
            )
        except DataFileError as err:
            roles = None
            warnings.append(str(err))
        else:
            if roles is None:
                warnings.append(no_day_columns(path, header).message)
        if roles is not None:
            id_pos, time_pos, _, label_pos = roles
            found_id = str(header[id_pos])
            found_label = str(header[label_pos]) if label_pos is not None else None
            stamps = parse_timestamps(frame.iloc[:, time_pos]).dropna()
            if len(stamps):
                first_day = stamps.min().date().isoformat()
                last_day = stamps.max().date().isoformat()
                n_days = (stamps.max().normalize() - stamps.min().normalize()).days + 1
            warnings.append(
                "Long file: the number of customers and the date range are estimated from the "
                f"first {len(frame)} rows."
            )
        n_customers = int(frame.iloc[:, roles[0]].nunique()) if roles else 0

    if found_label is None and not labels_from_file:
        warnings.append("No label column: customers will be unlabelled (scoring only).")
    log.debug("preview %s: %s, %s, id=%s", path.name, fmt, layout, found_id)
    return ImportPreview(
        layout=layout,
        format=fmt,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        id_column=found_id,
        label_column=found_label,
        candidate_columns=candidates,
        first_day=first_day,
        last_day=last_day,
        n_customers=int(n_customers),
        n_days=int(n_days),
        warnings=warnings,
        sheet=chosen_sheet,
    )


def _xlsx_rows(path: Path, sheet: str, fallback: int) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        rows = book[sheet].max_row
    finally:
        book.close()
    return max(fallback, (rows or 1) - 1)
