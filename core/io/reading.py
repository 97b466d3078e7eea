"""``read_dataset``: any supported meter export in, a checked :class:`ConsumptionData` out.

The steps: check the path, recognise the format (text, XLSX, Parquet), sniff the text dialect,
decide the layout from the header (day columns: wide; a time column: long), read, then apply
the common checks of :mod:`core.io.assembly`. The file's SHA-256 is computed on a second thread
while it is parsed, so that hashing a large file costs no extra time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

import pandas as pd

from core.dataset import ConsumptionData, ImportNote
from core.errors import DataFileError
from core.io.assembly import ReadingTable, finish
from core.io.columns import read_day_headers_of, wide_columns
from core.io.labels import read_labels_file
from core.io.long import long_roles, read_long
from core.io.sniffing import TextDialect, sniff_dialect, sniff_format
from core.io.spreadsheets import read_parquet, read_xlsx, sheet_names
from core.io.wide import read_wide_frame, read_wide_text
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)


class _Hasher(threading.Thread):
    """SHA-256 and line count of a file, computed in the background.

    hashlib and bytes.count release the GIL on large blocks, so this costs the parse little.
    The count (lines after the header) lets the wide reader reserve its matrix once.
    """

    def __init__(self, path: Path):
        super().__init__(name=f"sha256 {path.name}", daemon=True)
        self.path = path
        self.digest = ""
        self.lines: int | None = None

    def run(self) -> None:
        digest = hashlib.sha256()
        lines, last = 0, b"\n"
        with open(self.path, "rb") as handle:
            while block := handle.read(4 * 1024 * 1024):
                digest.update(block)
                lines += block.count(b"\n")
                last = block[-1:]
        self.digest = digest.hexdigest()
        # The header line does not count; a last line without a line break does.
        self.lines = max(0, lines - 1 + (last != b"\n"))

    def line_count(self) -> int | None:
        return self.lines


def check_path(path) -> Path:
    """The path as a :class:`Path`, or an error if it is not a readable, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(path, "the file does not exist.", hint="Check the name and folder.")
    if path.is_dir():
        raise DataFileError(path, "this is a folder, not a data file.")
    if not os.access(path, os.R_OK):
        raise DataFileError(
            path,
            "you have no permission to read this file.",
            hint="Copy it to a folder of your own, or ask for read access.",
        )
    if path.stat().st_size == 0:
        raise DataFileError(
            path, "the file is empty.", hint="Choose the exported meter-reading file itself."
        )
    return path


def no_day_columns(path: Path, header) -> DataFileError:
    shown = ", ".join(repr(str(h)) for h in list(header)[:10])
    return DataFileError(
        path,
        f"no date columns were found (columns: {shown}{' ...' if len(header) > 10 else ''}).",
        hint="A wide file needs one column per day named like 2014/1/1 or 2014-01-01; "
        "a long file needs a column of timestamps.",
    )


def read_dataset(
    path,
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    labels_path=None,
    sheet: str | None = None,
    state: TaskState | None = None,
) -> ConsumptionData:
    """Read a consumption data set from a wide or long CSV/TSV, XLSX or Parquet file.

    ``id_column`` / ``label_column`` name the columns when their names are not recognised;
    ``labels_path`` is a second file of (customer, label) rows; ``sheet`` picks a worksheet.
    Raises :class:`DataFileError` naming the row, column or value when the file cannot be
    used. What the import did is in ``data.notes``; where it came from in ``data.source``.
    """
    state = ensure_state(state)
    started = time.monotonic()
    path = check_path(path)
    state.set_status(f"Opening {path.name}")
    hasher = _Hasher(path)
    hasher.start()

    labels_map = None
    if labels_path is not None:
        labels_map = read_labels_file(
            Path(labels_path), id_column=id_column, label_column=label_column
        )
    fmt = sniff_format(path)
    source = {"path": str(path.resolve()), "name": path.name, "format": fmt, "sheet": None}
    roles = {
        "id_column": id_column,
        "label_column": label_column,
        "labels_from_file": bool(labels_path),
    }
    reading = state.child(0.02, 0.92)

    if fmt == "csv":
        dialect = sniff_dialect(path)
        table, layout = _read_text(path, dialect, roles, reading, hasher.line_count)
        source.update(
            delimiter=dialect.delimiter, decimal=dialect.decimal, encoding=dialect.encoding
        )
    else:
        state.set_status(f"Reading {path.name}")
        if fmt == "xlsx":
            frame, source["sheet"] = read_xlsx(path, sheet)
        else:
            frame = read_parquet(path)
        source.update(delimiter=None, decimal=None, encoding=None)
        try:
            table, layout = _read_frame(path, frame, roles, reading, fmt)
        except DataFileError as err:
            raise _with_other_sheets(path, err, fmt, sheet) from err
        del frame

    state.set_status(f"Checking {path.name}")
    state.check()
    hasher.join()
    source.update(
        sha256=hasher.digest,
        layout=layout,
        labels_path=str(Path(labels_path).resolve()) if labels_path else None,
        **table.source_extra,
    )
    data = finish(path, table, labels_map=labels_map, source=source)
    state.set_progress(1.0)
    log.info("read %s in %.2f s", path.name, time.monotonic() - started)
    return data


def _check_row_widths(path: Path, dialect: TextDialect) -> None:
    """Refuse sampled rows with more fields than the header.

    Pandas would silently take the extra leading fields of such a first row as an index and
    shift every column of the file one or more places to the right.
    """
    width = len(dialect.header)
    for number, row in enumerate(dialect.sample_rows, start=2):
        if len(row) > width:
            raise DataFileError(
                path,
                f"row {number} has {len(row)} fields but the header has {width} columns.",
                hint="Every row needs as many separated fields as the header (look for a stray "
                "separator, or a number with an unquoted thousands comma) and import again.",
            )


def read_text_cells(path: Path, dialect: TextDialect, nrows: int | None = None) -> pd.DataFrame:
    """Every cell of a delimited text file as text (the first ``nrows`` rows if given)."""
    _check_row_widths(path, dialect)
    try:
        frame = pd.read_csv(
            path,
            sep=dialect.delimiter,
            encoding=dialect.encoding,
            header=0,
            # Positions, not names: a header may repeat a name, which names= refuses.
            names=list(range(len(dialect.header))),
            dtype=str,
            nrows=nrows,
            engine="c",
            index_col=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataFileError(
            path,
            f"the file is not a regular table: {err}",
            hint="Every row needs as many separated fields as the header has columns, "
            "in one text encoding.",
        ) from err
    frame.columns = dialect.header
    return frame


def _read_text(path: Path, dialect: TextDialect, roles: dict, state: TaskState, line_count):
    header = dialect.header
    _check_row_widths(path, dialect)
    days = read_day_headers_of(path, header)
    if days.positions or days.unparseable:
        columns = wide_columns(path, header, **roles)
        table = read_wide_text(path, dialect, columns, state, line_count)
        return _wide_done(table, header, columns, days.style), "wide"

    frame = read_text_cells(path, dialect)
    return _read_long_frame(path, frame, roles, state, dialect.decimal, header)


def _read_frame(path: Path, frame: pd.DataFrame, roles: dict, state: TaskState, fmt: str):
    header = list(frame.columns)
    if frame.empty and not header:
        raise DataFileError(path, "the file holds no table.")
    days = read_day_headers_of(path, header)
    row_word = "row" if fmt == "xlsx" else "data row"
    if days.positions or days.unparseable:
        columns = wide_columns(path, header, **roles)
        table = read_wide_frame(path, frame, columns, state, row_word=row_word)
        return _wide_done(table, header, columns, days.style), "wide"
    return _read_long_frame(path, frame, roles, state, ".", header)


def _read_long_frame(path, frame, roles, state, decimal, header):
    found = long_roles(path, frame, **roles)
    if found is None:
        raise no_day_columns(path, header)
    if frame.empty:
        raise DataFileError(path, "the file has a header but no reading rows.")
    table = read_long(path, frame, found, state, decimal)
    id_pos, time_pos, value_pos, label_pos = found
    table.source_extra.update(_roles_used(header, id_pos, label_pos))
    table.source_extra.update(
        time_column=str(header[time_pos]), value_column=str(header[value_pos])
    )
    return table, "long"


def _with_other_sheets(path: Path, err: DataFileError, fmt: str, sheet) -> DataFileError:
    """``err``, pointing at the other worksheets when the first one was read by default."""
    if fmt != "xlsx" or sheet is not None:
        return err
    names = sheet_names(path)
    if len(names) < 2:
        return err
    listed = ", ".join(repr(n) for n in names)
    hint = f"The first worksheet was read; the workbook has {listed}: pick one with --sheet NAME."
    message = err.message.removeprefix(f"{err.path}: ")
    return DataFileError(path, message, hint=f"{err.hint} {hint}".strip(), details=err.details)


def _wide_done(table: ReadingTable, header, columns, day_style: str) -> ReadingTable:
    """Record in ``table`` what a wide read used and ignored."""
    _note_extra_columns(table, [header[p] for p in columns.extra])
    table.source_extra.update(_roles_used(header, columns.id_pos, columns.label_pos))
    table.source_extra["day_style"] = day_style
    return table


def _roles_used(header, id_pos, label_pos) -> dict:
    return {
        "id_column": str(header[id_pos]),
        "label_column": str(header[label_pos]) if label_pos is not None else None,
    }


def _note_extra_columns(table: ReadingTable, names: list) -> None:
    if names:
        shown = ", ".join(repr(str(n)) for n in names[:5])
        table.notes.append(
            ImportNote(
                "columns_ignored",
                f"{len(names)} column(s) that are neither id, label nor a day were ignored: "
                f"{shown}.",
                len(names),
                [str(n) for n in names[:5]],
            )
        )
