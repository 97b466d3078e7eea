"""Labels: 1 for a customer found stealing, 0 for normal, empty for not inspected.

Labels are inspection outcomes, so they are read strictly. ``0``, ``1`` (also written ``0.0``,
``1.0`` by spreadsheets) and true/false cells are accepted; an empty cell means unknown. Any
other value (``2``, ``yes``, ``-1``, ``0.5``) is refused with the rows and customers that hold
it: turning it into a 0 or 1 would invent an inspection result.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from core.dataset import NORMAL, THEFT, UNKNOWN
from core.errors import DataFileError
from core.io.columns import ID_NAMES, LABEL_NAMES, find_named, normalise_name
from core.io.sniffing import sniff_dialect, sniff_format

log = logging.getLogger(__name__)

_ACCEPTED = {
    "0": NORMAL,
    "0.0": NORMAL,
    "false": NORMAL,
    "1": THEFT,
    "1.0": THEFT,
    "true": THEFT,
}


def parse_labels(
    path: Path,
    values: pd.Series | np.ndarray,
    customer_ids: np.ndarray,
    column: str,
    rows: np.ndarray,
) -> np.ndarray:
    """int8 labels (0, 1, or -1 for unknown) from raw label cells.

    ``rows`` are the file's row numbers for the messages. Raises DataFileError naming the
    offending rows, customers and values.
    """
    cells = pd.Series(values, dtype=object)
    empty = cells.isna().to_numpy() | (cells.astype(str).str.strip() == "").to_numpy()
    text = cells.astype(str).str.strip().str.lower()
    mapped = text.map(_ACCEPTED)
    bad = mapped.isna().to_numpy() & ~empty
    if bad.any():
        where = np.flatnonzero(bad)
        examples = [
            f"row {rows[i]} (customer {customer_ids[i]}): {str(cells.iloc[i])!r}" for i in where[:5]
        ]
        distinct = sorted({str(cells.iloc[i]) for i in where})[:8]
        raise DataFileError(
            path,
            f"column {column!r} must hold 0 (normal) or 1 (theft), or be empty for unknown; "
            f"{len(where)} row(s) hold other values ({', '.join(repr(v) for v in distinct)}): "
            + "; ".join(examples)
            + ".",
            hint="Correct those labels (leave a cell empty if the customer was not inspected).",
        )
    labels = np.full(len(cells), UNKNOWN, dtype=np.int8)
    known = ~empty
    labels[known] = mapped.to_numpy()[known].astype(np.int8)
    return labels


def read_labels_file(
    labels_path: Path, *, id_column: str | None = None, label_column: str | None = None
) -> dict[str, int]:
    """customer id -> label from a second CSV file of (customer, label) rows.

    The columns are found by name (as in the data file) or, failing that, are the first two
    columns. A customer listed twice with different labels is refused.
    """
    labels_path = Path(labels_path)
    if not labels_path.exists():
        raise DataFileError(labels_path, "the labels file does not exist.")
    if labels_path.is_dir():
        raise DataFileError(labels_path, "this is a folder, not a labels file.")
    if sniff_format(labels_path) != "csv":
        raise DataFileError(
            labels_path,
            "a labels file must be a CSV or TSV text file.",
            hint="Save the (customer, label) sheet as CSV and import again.",
        )
    dialect = sniff_dialect(labels_path)
    header = dialect.header
    if len(header) < 2:
        raise DataFileError(
            labels_path,
            f"a labels file needs two columns (customer, label); found {len(header)}.",
            hint="Write one row per customer: its id, then 0 or 1.",
        )

    id_pos = _labels_position(header, id_column, ID_NAMES)
    label_pos = _labels_position(header, label_column, LABEL_NAMES)
    # A file without a header row starts straight with a customer and a 0/1.
    has_header = not (
        id_pos is None and label_pos is None and header[1].strip().lower() in _ACCEPTED
    )
    if id_pos is None and label_pos is None:
        id_pos, label_pos = 0, 1
    elif id_pos is None:
        id_pos = 0 if label_pos != 0 else 1
    elif label_pos is None:
        label_pos = 1 if id_pos != 1 else 0

    frame = pd.read_csv(
        labels_path,
        sep=dialect.delimiter,
        encoding=dialect.encoding,
        header=0 if has_header else None,
        names=list(range(len(header))),
        usecols=[id_pos, label_pos],
        dtype=str,
        keep_default_na=False,
    )
    ids = frame[id_pos].str.strip().to_numpy(dtype=object)
    rows = np.arange(len(frame)) + (2 if has_header else 1)
    label_name = str(header[label_pos]) if has_header else "second column"
    labels = parse_labels(labels_path, frame[label_pos], ids, label_name, rows)

    table: dict[str, int] = {}
    for customer, label, row in zip(ids, labels, rows, strict=True):
        if not customer:
            raise DataFileError(labels_path, f"row {row} has no customer id.")
        if customer in table and table[customer] != label:
            raise DataFileError(
                labels_path,
                f"customer {customer} is listed twice with different labels "
                f"({table[customer]} and {label}; second time on row {row}).",
                hint="Keep one row per customer.",
            )
        table[customer] = int(label)
    log.info("labels file %s: %d customers", labels_path.name, len(table))
    return table


def _labels_position(header, given: str | None, names) -> int | None:
    if given is not None:
        found = find_named(header, [normalise_name(given)])
        if found is not None:
            return found
    return find_named(header, names)
