"""The Data page: summary cards, import notes, and the virtual customers x days table."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.dataset import THEFT, ConsumptionData
from etd_desktop.widgets.consumption_table import MISSING, ConsumptionTableModel


def test_cards_show_the_counts_of_the_data_set(window, demo_small):
    window.workspace.set_data(demo_small, "demo")
    page = window.show_page("data")
    cards = page.cards
    assert cards["customers"].value == "120"
    assert cards["days"].value == "1,035"
    assert "2014-01-01 to 2016-10-31" in cards["days"].caption_label.text()
    assert cards["theft"].value == f"{demo_small.theft_count:,}"
    assert cards["normal"].value == f"{demo_small.normal_count:,}"
    assert cards["unknown"].value == "0"
    assert cards["missing"].value == f"{100 * demo_small.missing_fraction:.1f}%"
    assert page.notes.item(0).text().startswith("Synthetic demo data")
    assert not page.welcome.isVisible()


def test_table_shows_missing_cells_as_a_dash_on_grey(window, demo_small):
    window.workspace.set_data(demo_small, "demo")
    model = window.show_page("data").model
    assert model.rowCount() == 120 and model.columnCount() == 1 + 1035
    row, day = map(int, np.argwhere(np.isnan(demo_small.kwh))[0])
    cell = model.index(row, day + 1)
    assert model.data(cell) == MISSING
    assert model.data(cell, Qt.ItemDataRole.BackgroundRole) is not None
    r2, d2 = map(int, np.argwhere(demo_small.kwh > 0)[0])
    assert model.data(model.index(r2, d2 + 1)) == f"{demo_small.kwh[r2, d2]:.2f}"
    assert model.headerData(0, Qt.Orientation.Vertical) == demo_small.customer_ids[0]
    assert model.headerData(1, Qt.Orientation.Horizontal) == "2014-01-01"


def test_filtering_by_class_and_id(window, demo_small):
    window.workspace.set_data(demo_small, "demo")
    page = window.show_page("data")
    page.class_filter.setCurrentIndex(1)  # thieves
    assert page.model.rowCount() == demo_small.theft_count
    assert page.row_count.text() == f"{demo_small.theft_count} of 120 shown"
    assert all(
        page.model.data(page.model.index(r, 0)) == "theft" for r in range(page.model.rowCount())
    )
    page.class_filter.setCurrentIndex(0)
    page.search.setText(demo_small.customer_ids[7][:10].lower())
    assert page.model.customer_row(0) == 7


class _CountingModel(ConsumptionTableModel):
    calls = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        type(self).calls += 1
        return super().data(index, role)


def test_full_size_table_asks_only_for_visible_cells(qtbot):
    from PySide6.QtWidgets import QTableView

    n, days = 42_372, 1_035
    kwh = np.zeros((n, days), dtype=np.float32)  # zeros: cheap to allocate, shape is the point
    data = ConsumptionData(
        [f"c{i}" for i in range(n)], _days(days), kwh, np.where(np.arange(n) % 12 == 0, THEFT, 0)
    )
    model = _CountingModel(data)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.verticalHeader().setDefaultSectionSize(22)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    _CountingModel.calls = 0
    view.scrollTo(model.index(30_000, 500))
    qtbot.wait(50)
    view.viewport().repaint()
    # Roughly 30 rows x 12 columns on screen, a dozen roles each: far from 43 million cells.
    assert 0 < _CountingModel.calls < 20_000


def _days(n):
    import pandas as pd

    return pd.date_range("2014-01-01", periods=n, freq="D")


def test_the_table_uses_the_label_codes_of_the_data_set():
    from core import dataset
    from etd_desktop.widgets import consumption_table as table

    assert (table.NORMAL, table.THEFT, table.UNKNOWN) == (
        dataset.NORMAL,
        dataset.THEFT,
        dataset.UNKNOWN,
    )
