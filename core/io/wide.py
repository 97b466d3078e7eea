"""Wide files: one row per customer, one column per day (the SGCC layout and its variants).

Delimited text is parsed by pandas' C parser in chunks of about :data:`CHUNK_BYTES`, with the
day columns read straight into float32 and copied into the final matrix as they come: the
chunks give progress and a chance to stop, and memory stays near the final matrix plus one
chunk. When a chunk holds a cell that is not a number, the file is read again with the day
columns as text and converted column by column, so that every bad cell can be counted and
shown (slower, but only for such files).

Row numbers in messages assume one line per row (a quoted line break inside a cell shifts
them), and a row with fewer fields than the header reads as empty cells, as pandas reads it.

The day columns are put in date order whatever their order in the file (the canonical SGCC
file sorts them as strings: ``2014/1/1``, ``2014/1/10``, ...), and calendar days the file lacks
become all-missing columns.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataFileError
from core.io.assembly import ReadingTable, calendar_of
from core.io.columns import WideColumns, duplicate_days
from core.io.readings import BadCells, to_readings
from core.io.sniffing import TextDialect
from core.tasks import TaskState

log = logging.getLogger(__name__)

CHUNK_BYTES = 32 * 1024 * 1024
_BAND_ROWS = 64


class _NotNumeric(Exception):
    """A day column held text; the tolerant pass is needed."""


class _NotUtf8(Exception):
    """The text stopped being UTF-8 after the sniffed sample; GB18030 is tried next."""


def _day_layout(path: Path, header: list, columns: WideColumns):
    duplicate_days(path, header, columns.days)
    calendar, positions = calendar_of(columns.days.days)
    day_names: list[str | None] = [None] * len(calendar)
    for pos, slot in zip(columns.day_positions, positions, strict=True):
        day_names[slot] = str(header[pos])
    return calendar, positions, day_names


class _Rows:
    """The customers x calendar matrix, filled chunk by chunk in place.

    The matrix is reserved once the file's line count is known (``line_count`` returns None
    until the background pass over the file has counted them); chunks that arrive earlier wait
    in a short queue. So the chunks are never all held next to the matrix, and the matrix is
    never copied to grow, except when the count was short (a file with old Mac ``\\r`` line
    ends, which are not counted).
    """

    def __init__(self, line_count, calendar: pd.DatetimeIndex, positions: np.ndarray):
        self.line_count = line_count
        self.days = len(calendar)
        # Values arrive in date order (see _parse); days the file lacks split them into runs
        # of consecutive calendar days, each copied with a plain slice (a fancy-indexed
        # scatter of permuted columns was the slowest step of the whole import).
        slots = np.sort(positions)
        breaks = np.flatnonzero(np.diff(slots) != 1) + 1
        starts = np.concatenate(([0], breaks))
        stops = np.concatenate((breaks, [len(slots)]))
        self.runs = [(int(a), int(b), int(slots[a])) for a, b in zip(starts, stops, strict=True)]
        self.absent = np.setdiff1d(np.arange(len(calendar)), positions)
        self.kwh: np.ndarray | None = None
        self.waiting: list[np.ndarray] = []
        self.n = 0
        self.ids: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def _allocate(self, rows: int) -> np.ndarray:
        kwh = np.empty((rows, self.days), dtype=np.float32)
        if len(self.absent):
            kwh[:, self.absent] = np.nan
        return kwh

    def add(self, ids: np.ndarray, labels: np.ndarray | None, values: np.ndarray) -> None:
        self.ids.append(ids)
        if labels is not None:
            self.labels.append(labels)
        self.waiting.append(values)
        if self.kwh is None:
            lines = self.line_count()
            if lines is None:
                return
            self.kwh = self._allocate(max(lines, sum(len(v) for v in self.waiting)))
        self._flush()

    def _flush(self) -> None:
        while self.waiting:
            values = self.waiting.pop(0)
            stop = self.n + len(values)
            if stop > self.kwh.shape[0]:
                bigger = self._allocate(max(stop, int(self.kwh.shape[0] * 1.25)))
                bigger[: self.n] = self.kwh[: self.n]
                self.kwh = bigger
            # The parsed chunk is column-major; copying it into the row-major matrix in bands
            # of a few rows keeps both sides in cache (one big copy was ten times slower).
            for top in range(0, len(values), _BAND_ROWS):
                band = values[top : top + _BAND_ROWS]
                row = self.n + top
                for first, last, slot in self.runs:
                    self.kwh[row : row + len(band), slot : slot + last - first] = band[
                        :, first:last
                    ]
            self.n = stop

    def matrix(self) -> np.ndarray:
        """The filled rows; unused reserve (blank lines) is given back without a copy."""
        if self.kwh is None:
            self.kwh = self._allocate(sum(len(v) for v in self.waiting))
        self._flush()
        if self.n < self.kwh.shape[0]:
            # Nothing else refers to this array, so it can shrink in place.
            self.kwh.resize((self.n, self.days), refcheck=False)
        return self.kwh


def read_wide_text(
    path: Path,
    dialect: TextDialect,
    columns: WideColumns,
    state: TaskState,
    line_count=lambda: None,
) -> ReadingTable:
    """Read a wide delimited text file whose column roles are ``columns``.

    ``line_count()`` gives the number of data lines once known (None before), so that the
    matrix can be reserved at its final size.
    """
    header = dialect.header
    calendar, positions, day_names = _day_layout(path, header, columns)
    tolerant, rows = False, None
    while True:
        rows = None  # let a failed attempt's matrix go before the next one is reserved
        rows, bad = _Rows(line_count, calendar, positions), BadCells()
        try:
            _parse(path, dialect, columns, state, rows, tolerant=tolerant, bad=bad)
            break
        except _NotNumeric:
            log.info("%s: a day column holds text; reading again cell by cell", path.name)
            state.set_status("Some cells are not numbers: reading them one by one")
            tolerant = True
        except _NotUtf8:
            # The sample was plain ASCII, Chinese text came later: the dialect is corrected so
            # that data.source records the encoding actually used.
            log.info("%s: not UTF-8 after the sample; reading again as GB18030", path.name)
            dialect.encoding = "gb18030"
        state.set_progress(0.0)

    kwh = rows.matrix()
    n = rows.n
    label_cells = None
    if columns.label_pos is not None:
        label_cells = pd.Series(np.concatenate(rows.labels) if n else [], dtype=object)
    return ReadingTable(
        ids=np.concatenate(rows.ids) if n else np.array([], dtype=object),
        rows=np.arange(n) + 2,
        kwh=kwh,
        calendar=calendar,
        day_names=day_names,
        label_cells=label_cells,
        label_column=str(header[columns.label_pos]) if columns.label_pos is not None else None,
        bad=bad,
    )


def _parse(path, dialect, columns, state, sink: _Rows, *, tolerant, bad=None) -> None:
    header = dialect.header
    # Day columns are taken in date order: reordering whole columns of the parsed chunk is a
    # cheap copy per column, where reordering inside each row later is not.
    by_date = np.argsort(np.asarray(columns.days.days, dtype="datetime64[ns]"), kind="stable")
    day_positions = [columns.day_positions[i] for i in by_date]
    # Dashes for "no reading" are left to the tolerant pass: per-column na_values slowed the
    # parse of every file by about half, to speed up only the files that hold them.
    # Every column is parsed (extra ones as text) rather than picked with usecols: with usecols
    # the parser stops checking that each row has as many fields as the header. A row with
    # fewer fields is still read, its last cells empty, as pandas does.
    day_type = str if tolerant else np.float32
    dtype = {pos: str for pos in columns.extra}
    dtype.update({pos: day_type for pos in day_positions})
    dtype[columns.id_pos] = str
    if columns.label_pos is not None:
        dtype[columns.label_pos] = str

    chunk_rows = max(200, int(CHUNK_BYTES / max(dialect.bytes_per_row, 1.0)))
    if tolerant:
        chunk_rows = max(50, chunk_rows // 8)
    file_size = max(1, path.stat().st_size)
    names = [str(header[p]) for p in day_positions]
    chunks, rows_done = 0, 0
    started = time.monotonic()
    reader = pd.read_csv(
        path,
        sep=dialect.delimiter,
        decimal=dialect.decimal,
        encoding=dialect.encoding,
        header=0,
        names=list(range(len(header))),
        dtype=dtype,
        chunksize=chunk_rows,
        engine="c",
        index_col=False,
    )
    # Readings too large for float32 become inf (reported later), not a warning per chunk.
    try:
        with reader, np.errstate(over="ignore"):
            for chunk in reader:
                state.check()
                ids = chunk[columns.id_pos].to_numpy(dtype=object)
                labels = (
                    chunk[columns.label_pos].to_numpy(dtype=object)
                    if columns.label_pos is not None
                    else None
                )
                block = chunk[day_positions]
                if tolerant:
                    values = to_readings(block, dialect.decimal, names, rows_done + 2, bad)
                else:
                    values = block.to_numpy(dtype=np.float32)
                del chunk, block
                sink.add(ids, labels, values)
                del values
                rows_done += len(ids)
                chunks += 1
                state.set_progress(min(0.99, rows_done * dialect.bytes_per_row / file_size))
                state.set_status(f"Reading {path.name}: {rows_done:,} customers")
    except pd.errors.ParserError as err:
        raise DataFileError(
            path,
            f"the file is not a regular table: {err}",
            hint="Every row needs as many separated fields as the header has columns.",
        ) from err
    except UnicodeDecodeError as err:
        if dialect.encoding == "utf-8":
            raise _NotUtf8() from err
        raise DataFileError(
            path,
            f"the text is not valid {dialect.encoding} beyond its first part ({err.reason}).",
            hint="Save the file as UTF-8 and import again.",
        ) from err
    except ValueError as err:
        if not tolerant and "convert" in str(err):
            raise _NotNumeric() from err
        raise
    log.info(
        "%s: parsed %d rows in %d chunks (%s) in %.2f s",
        path.name,
        rows_done,
        chunks,
        "tolerant" if tolerant else "float32",
        time.monotonic() - started,
    )


def read_wide_frame(
    path: Path, frame: pd.DataFrame, columns: WideColumns, state: TaskState, row_word="row"
) -> ReadingTable:
    """A wide table already in memory (from a spreadsheet or Parquet file)."""
    header = list(frame.columns)
    calendar, positions, day_names = _day_layout(path, header, columns)
    first_row = 2 if row_word == "row" else 1
    bad = BadCells()
    names = [str(header[p]) for p in columns.day_positions]
    kwh = np.full((len(frame), len(calendar)), np.nan, dtype=np.float32)
    step = 64
    for start in range(0, len(positions), step):
        state.check()
        block = frame.iloc[:, columns.day_positions[start : start + step]]
        values = to_readings(block, ".", names[start : start + step], first_row, bad)
        kwh[:, positions[start : start + step]] = values
        state.set_progress((start + step) / max(1, len(positions)))

    label_cells = None
    if columns.label_pos is not None:
        label_cells = pd.Series(frame.iloc[:, columns.label_pos].to_numpy(dtype=object))
    return ReadingTable(
        ids=id_text(frame.iloc[:, columns.id_pos]),
        rows=np.arange(len(frame)) + first_row,
        kwh=kwh,
        calendar=calendar,
        day_names=day_names,
        label_cells=label_cells,
        label_column=str(header[columns.label_pos]) if columns.label_pos is not None else None,
        bad=bad,
        row_word=row_word,
    )


def id_text(values: pd.Series) -> np.ndarray:
    """Customer ids as text, as written: ``000123`` stays ``000123``; whole numbers that a
    spreadsheet stored as floats lose the ``.0`` (``123.0`` -> ``123``)."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if len(whole) and bool((whole == np.round(whole)).all()):
            values = values.astype("Int64")
    return np.array([_one_id(v) for v in values], dtype=object)


def _one_id(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
