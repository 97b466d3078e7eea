"""The ranked customer list as a Qt table model over numpy columns.

Filtering and sorting are numpy operations on whole columns; the model only keeps ``rows``, the
permutation of data rows currently shown, and formats the cells Qt asks for (the visible ones).
A ``QSortFilterProxyModel`` would call Python once per row and per comparison, which is
seconds at 42,372 customers; here a filter or a sort is a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, Qt
from PySide6.QtGui import QBrush, QColor

from core.project import OUTCOME_TEXT

LABEL_TEXT = {1: "theft", 0: "normal", -1: ""}
THEFT_BRUSH = QBrush(QColor(232, 97, 60, 60))


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    tip: str


COLUMNS = (
    Column("rank", "rank", "1 = most suspicious"),
    Column("customer", "customer", "Customer id"),
    Column("score", "theft score", "The model's theft probability, 0..1"),
    Column("percentile", "percentile", "Share of scored customers at or below this score"),
    Column("flag", "predicted", "At or above the model's threshold (chosen on validation)"),
    Column("label", "label", "The label known from the data file or an inspection"),
    Column("missing", "missing", "Share of days without a reading (before cleaning)"),
    Column("outcome", "inspection", "The latest recorded inspection outcome"),
)


@dataclass
class CustomerFilter:
    """What the list shows; None or "" means no restriction."""

    text: str = ""
    score_min: float | None = None
    score_max: float | None = None
    label: int | None = None  # 1, 0 or -1 (unknown)
    outcome: str | None = None  # an OUTCOMES key
    flagged: bool | None = None


class RankedTableModel(QAbstractTableModel):
    """Customers by theft score; ``rows`` maps a shown row to a data row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: dict[str, np.ndarray] = {}
        self.rows = np.empty(0, dtype=np.int64)
        self.sort_key = "rank"
        self.sort_descending = False
        self._filter = CustomerFilter()
        self._ids_lower = np.empty(0, dtype=str)

    # data ----------------------------------------------------------------------------------
    def set_columns(self, columns: dict[str, np.ndarray]) -> None:
        """``customer`` (str), ``rank`` (int, 0 = not scorable), ``score``, ``percentile``,
        ``missing`` (float, NaN unknown), ``flag`` (bool), ``label`` (int8, -1 unknown),
        ``outcome`` (str keys, "" none)."""
        self.beginResetModel()
        self.columns = {k: np.asarray(v) for k, v in columns.items()}
        self._ids_lower = np.char.lower(self.columns["customer"].astype(str))
        self.rows = self._select()
        self.endResetModel()

    @property
    def n_total(self) -> int:
        return len(self.columns.get("customer", ()))

    def customer_at(self, row: int) -> str:
        return str(self.columns["customer"][self.rows[row]])

    def data_row(self, row: int) -> int:
        return int(self.rows[row])

    def shown_row_of(self, customer: str) -> int | None:
        found = np.flatnonzero(self.columns["customer"][self.rows] == customer)
        return int(found[0]) if len(found) else None

    def set_outcome(self, customer: str, outcome: str) -> None:
        hits = np.flatnonzero(self.columns["customer"] == customer)
        if not len(hits):
            return
        self.columns["outcome"][hits] = outcome
        column = [c.key for c in COLUMNS].index("outcome")
        for data_row in hits:
            shown = np.flatnonzero(self.rows == data_row)
            if len(shown):
                index = self.index(int(shown[0]), column)
                self.dataChanged.emit(index, index)

    # filter and sort, in numpy -------------------------------------------------------------
    def set_filter(self, flt: CustomerFilter) -> None:
        self._filter = flt
        self.beginResetModel()
        self.rows = self._select()
        self.endResetModel()

    def _mask(self) -> np.ndarray:
        c, f = self.columns, self._filter
        keep = np.ones(self.n_total, dtype=bool)
        if f.text:
            keep &= np.char.find(self._ids_lower, f.text.strip().lower()) >= 0
        score = c["score"].astype(float)
        if f.score_min is not None:
            keep &= score >= f.score_min
        if f.score_max is not None:
            keep &= score <= f.score_max
        if f.label is not None:
            keep &= c["label"] == f.label
        if f.outcome is not None:
            keep &= c["outcome"] == f.outcome
        if f.flagged is not None:
            keep &= c["flag"].astype(bool) == f.flagged
        return keep

    def _select(self) -> np.ndarray:
        if not self.n_total:
            return np.empty(0, dtype=np.int64)
        rows = np.flatnonzero(self._mask())
        values = self._sort_values(self.sort_key)[rows]
        order = np.argsort(values, kind="stable")
        if self.sort_descending:
            order = order[::-1]
        return rows[order]

    def _sort_values(self, key: str) -> np.ndarray:
        values = self.columns[key]
        if key == "rank":  # not scorable (0) after everyone else
            return np.where(values > 0, values, np.iinfo(np.int64).max)
        if values.dtype.kind in "fiub":
            v = values.astype(float)
            return np.where(np.isnan(v), -np.inf if self.sort_descending else np.inf, v)
        return values.astype(str)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:  # noqa: D102
        self.sort_key = COLUMNS[column].key
        self.sort_descending = order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        self.rows = self._select()
        self.layoutChanged.emit()

    # Qt model ------------------------------------------------------------------------------
    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        key = COLUMNS[index.column()].key
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(key, self.columns[key][row])
        if role == Qt.ItemDataRole.TextAlignmentRole and key not in ("customer", "outcome"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and key == "flag" and self.columns["flag"][row]:
            return THEFT_BRUSH
        return None


def _text(key: str, value) -> str:
    if key == "rank":
        return f"{int(value):,}" if value > 0 else "not scorable"
    if key == "score":
        return "-" if np.isnan(value) else f"{float(value):.4f}"
    if key == "percentile":
        return "-" if np.isnan(value) else f"{float(value):.1f}"
    if key == "missing":
        return "-" if np.isnan(value) else f"{100 * float(value):.1f}%"
    if key == "flag":
        return "theft" if value else ""
    if key == "label":
        return LABEL_TEXT.get(int(value), "")
    if key == "outcome":
        return OUTCOME_TEXT.get(str(value), str(value)) if value else ""
    return str(value)
