"""XLSX workbooks and Parquet files, read into a table of raw cells.

Spreadsheets keep their own types: a day header may be a real date cell, a reading a number or
a text cell someone typed by hand. Both readers return the cells as they are; the wide and long
readers decide what each column is. Row numbers in messages are the spreadsheet's own (the
header is row 1); for Parquet they count data rows from 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from core.errors import DataFileError

log = logging.getLogger(__name__)


def sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged workbook
        raise DataFileError(
            path, f"the workbook cannot be opened ({type(err).__name__}: {err})."
        ) from err
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read_xlsx(path: Path, sheet: str | None, nrows: int | None = None) -> tuple[pd.DataFrame, str]:
    """The cells of one worksheet (the first unless ``sheet`` names one) and its name."""
    names = sheet_names(path)
    if not names:
        raise DataFileError(path, "the workbook has no worksheets.")
    if sheet is None:
        chosen = names[0]
    elif sheet in names:
        chosen = sheet
    else:
        raise DataFileError(
            path,
            f"there is no worksheet {sheet!r}; the workbook has {', '.join(map(repr, names))}.",
            hint="Pick one of those with --sheet NAME.",
        )
    # dtype=object keeps each cell as the workbook holds it: without it pandas turns a text id
    # such as "000123" into the number 123.
    frame = pd.read_excel(
        path, sheet_name=chosen, header=0, nrows=nrows, engine="openpyxl", dtype=object
    )
    frame = frame.dropna(axis=0, how="all")
    frame = frame.loc[:, [not _blank_header(c) or frame[c].notna().any() for c in frame.columns]]
    log.info("%s: sheet %r, %d rows x %d columns", path.name, chosen, *frame.shape)
    return frame, chosen


def _blank_header(name) -> bool:
    return str(name).startswith("Unnamed:")


def read_parquet(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """The table stored in a Parquet file (the first ``nrows`` rows if given)."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
        if nrows is None:
            table = handle.read()
        else:
            table = next(handle.iter_batches(batch_size=nrows))
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise DataFileError(
            path, f"the Parquet file cannot be read ({type(err).__name__}: {err})."
        ) from err
    frame = table.to_pandas()
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    log.info("%s: parquet, %d rows x %d columns", path.name, *frame.shape)
    return frame


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
