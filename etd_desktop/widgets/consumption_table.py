"""A table model over the customers x days matrix, without copying it.

Qt asks :meth:`ConsumptionTableModel.data` only for the cells on screen, so the full SGCC size
(42,372 customers x 1,035 days) scrolls as smoothly as a small file. Rows are a numpy index
into the data set, so filtering by class or id is one array operation, not a proxy model that
asks about every row in Python.

Empty readings show an em dash on a grey background; zero readings are greyed text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from etd_desktop import theme

if TYPE_CHECKING:
    from core.dataset import ConsumptionData

# core.dataset's NORMAL, THEFT and UNKNOWN, written out so that this module (loaded with the
# window) does not pull in pandas; a test checks they agree.
NORMAL, THEFT, UNKNOWN = 0, 1, -1
MISSING = "\u2014"
LABEL_TEXT = {NORMAL: "normal", THEFT: "theft", UNKNOWN: "?"}
_Index = QModelIndex | QPersistentModelIndex


class ConsumptionTableModel(QAbstractTableModel):
    """Column 0 is the label, columns 1.. are the days; row headers are customer ids."""

    def __init__(self, data: ConsumptionData | None = None, parent=None):
        super().__init__(parent)
        self._data: ConsumptionData | None = None
        self._rows = np.zeros(0, dtype=np.int64)
        self._day_headers: list[str] = []
        self._missing_bg = theme.missing_cell_background()
        self._zero_fg = theme.zero_cell_foreground()
        self._theft_fg = theme.THEFT_COLOUR
        if data is not None:
            self.set_data(data)

    # content -------------------------------------------------------------------------------
    def set_data(self, data: ConsumptionData | None, rows: np.ndarray | None = None) -> None:
        self.beginResetModel()
        self._data = data
        if data is None:
            self._rows = np.zeros(0, dtype=np.int64)
            self._day_headers = []
        else:
            self._rows = np.arange(data.n_customers) if rows is None else np.asarray(rows)
            self._day_headers = [d.strftime("%Y-%m-%d") for d in data.days]
        self.endResetModel()

    def set_rows(self, rows: np.ndarray) -> None:
        """Show only the customers at ``rows`` (indices into the data set), in that order."""
        self.beginResetModel()
        self._rows = np.asarray(rows, dtype=np.int64)
        self.endResetModel()

    def filter(self, label: int | None = None, id_text: str = "") -> int:
        """Show the customers with ``label`` (None: all) whose id contains ``id_text``."""
        if self._data is None:
            return 0
        mask = np.ones(self._data.n_customers, dtype=bool)
        if label is not None:
            mask &= self._data.labels == label
        text = id_text.strip().lower()
        if text:
            ids = self._data.customer_ids.astype(str)
            mask &= np.char.find(np.char.lower(ids), text) >= 0
        self.set_rows(np.flatnonzero(mask))
        return int(mask.sum())

    def customer_row(self, view_row: int) -> int:
        """Row in the data set of the customer shown at ``view_row``."""
        return int(self._rows[view_row])

    @property
    def dataset(self) -> ConsumptionData | None:
        return self._data

    # Qt model ------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._data is None:
            return 0
        return 1 + self._data.n_days

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if self._data is None or not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if col == 0:
            label = int(self._data.labels[row])
            if role == Qt.ItemDataRole.DisplayRole:
                return LABEL_TEXT[label]
            if role == Qt.ItemDataRole.ForegroundRole and label == THEFT:
                from PySide6.QtGui import QColor

                return QColor(self._theft_fg)
            return None

        value = self._data.kwh[row, col - 1]
        if role == Qt.ItemDataRole.DisplayRole:
            return MISSING if value != value else f"{value:.2f}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and value != value:
            return self._missing_bg
        if role == Qt.ItemDataRole.ForegroundRole and value == 0:
            return self._zero_fg
        if role == Qt.ItemDataRole.ToolTipRole:
            shown = "no reading" if value != value else f"{value:.3f} kWh"
            customer = self._data.customer_ids[row]
            return f"{customer}\n{self._day_headers[col - 1]}: {shown}"
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or self._data is None:
            return None
        if orientation == Qt.Orientation.Vertical:
            return str(self._data.customer_ids[self._rows[section]])
        return "label" if section == 0 else self._day_headers[section - 1]
