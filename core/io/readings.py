"""Turning raw cells into kWh readings, counting what could not be read.

An empty cell is a missing reading. A cell that holds text that is not a number (``abc``,
``#N/A``, ``12 kWh``) is also made missing, but counted and reported with a few examples
(``row 12, column 2014/3/4: 'abc'``) so the user can find it in the file. The usual missing
markers (``NA``, ``NaN``, ``NULL``, ``n/a``, ``-``, ...) count as empty, not as bad cells.

Numbers written with thousands separators, as spreadsheets export them (``"1,234.5"``, or
``1.234,5`` / ``1 234,5`` with a decimal comma), are read as numbers. Only the strict grouped
form (groups of exactly three digits) is accepted, so ``1,5`` in a decimal-point file and
``1.5`` in a decimal-comma file stay bad cells rather than becoming 15 or a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EXAMPLES = 5

# Compared in lower case. Pandas' own CSV missing markers, and the dashes people type for
# "no reading" (pandas does not treat "-" as missing).
MISSING_MARKERS = frozenset(
    {"na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na", "#n/a n/a", "nil"}
    | {"-", "--", "\u2013", "\u2014"}
)
_GROUPED = {
    ".": (re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"), ","),
    ",": (re.compile(r"^[-+]?\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d+)?$"), ". \u00a0\u202f"),
}


@dataclass
class BadCells:
    """Non-numeric cells found while reading: how many, and the first few."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, rows: Sequence[int], column: str, values: Sequence) -> None:
        """Record the bad cells of one column: their file rows and raw values."""
        self.count += len(rows)
        room = max(0, EXAMPLES - len(self.examples))
        for row, value in list(zip(rows, values, strict=True))[:room]:
            self.examples.append(f"row {row}, column {column}: {str(value)!r}")


def numeric_column(cells: pd.Series, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 readings of one column of raw cells, and a mask of the non-numeric ones."""
    if pd.api.types.is_bool_dtype(cells.dtype):
        # True/False in a reading column is not a reading.
        values = np.full(len(cells), np.nan, dtype=np.float32)
        return values, cells.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(cells.dtype):
        with np.errstate(over="ignore"):  # too large for float32: inf, reported later
            values = cells.to_numpy(dtype=np.float32, na_value=np.nan)
        return values, np.zeros(len(cells), bool)
    text = cells.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(bool)
    number = _to_float(_decimal_point(text, decimal).where(~empty))
    failed = np.isnan(number) & ~empty
    if failed.any():  # only the few cells that are not plain numbers are looked at again
        empty[failed] = text[failed].str.lower().isin(MISSING_MARKERS).to_numpy(bool)
    # With a decimal comma, a point can only group thousands (1.234 is 1234, never 1.234).
    if decimal == ",":
        grouped = ~empty & text.str.contains(r"[. \u00a0\u202f]").fillna(False).to_numpy(bool)
    else:
        grouped = np.isnan(number) & ~empty
    if grouped.any():
        number[grouped] = _grouped_numbers(text[grouped], decimal)
    bad = np.isnan(number) & ~empty
    with np.errstate(over="ignore"):  # too large for float32: inf, reported later
        values = number.astype(np.float32)
    return values, bad


def _to_float(text: pd.Series) -> np.ndarray:
    """float64 of each cell; NaN where it is not a number."""
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _decimal_point(text: pd.Series, decimal: str) -> pd.Series:
    return text.str.replace(",", ".", regex=False) if decimal == "," else text


def _grouped_numbers(text: pd.Series, decimal: str) -> pd.Series:
    """Numbers written with thousands separators; NaN for any other text."""
    pattern, separators = _GROUPED[decimal]
    grouped = text.where(text.str.match(pattern).fillna(False).astype(bool))
    for separator in separators:
        grouped = grouped.str.replace(separator, "", regex=False)
    return _to_float(_decimal_point(grouped, decimal))


def to_readings(
    block: pd.DataFrame,
    decimal: str,
    column_names: Sequence[str],
    first_row: int,
    bad: BadCells,
) -> np.ndarray:
    """A customers x columns float32 matrix from a block of raw cells.

    ``column_names`` are the header names shown in messages and ``first_row`` the file's row
    number of the block's first row. Non-numeric cells become NaN and are added to ``bad``.
    """
    out = np.empty(block.shape, dtype=np.float32)
    for j in range(block.shape[1]):
        values, bad_mask = numeric_column(block.iloc[:, j], decimal)
        out[:, j] = values
        if bad_mask.any():
            where = np.flatnonzero(bad_mask)
            raw = block.iloc[where[:EXAMPLES], j].tolist()
            rows = [first_row + int(i) for i in where]
            bad.add(rows, str(column_names[j]), raw + [None] * (len(rows) - len(raw)))
    return out
