"""The Customers page ranks, filters and draws customers, records inspections that survive
reopening the project, exports the visit list and scores a new data set."""

from __future__ import annotations

import os
import shutil
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QCoreApplication, Qt

from core.demo import make_demo
from core.project import Project
from etd_desktop.pages.customers import CustomersPage
from etd_desktop.pages.evaluate import make_screenshot_run
from etd_desktop.widgets.ranked_table import CustomerFilter, RankedTableModel
from etd_desktop.workspace import Workspace

SMALL_GBM = {"gbm": {"max_iter": 30}}


def _wait(condition, seconds=60):
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the workspace did not get there in time")
        QCoreApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture(scope="module")
def demo():
    return make_demo(n_customers=200, n_days=120, seed=0, missing_rate=0.002, zero_rate=0.002)


@pytest.fixture(scope="module")
def trained_project(qapp, demo, tmp_path_factory):
    """A project holding the demo data and one honest run of the boosting model."""
    path = tmp_path_factory.mktemp("project") / "demo.etdproj"
    workspace = Workspace()
    workspace.new_project(path)
    _wait(lambda: workspace.project is not None)
    workspace.set_data(demo, "demo")
    workspace.wait_for_writes()
    make_screenshot_run(workspace, protocols=("honest",), models=("gbm",), model_params=SMALL_GBM)
    workspace.close_project()
    return path


def _open(path) -> Workspace:
    workspace = Workspace()
    workspace.open_project(path)
    _wait(lambda: workspace.project is not None and workspace.data is not None)
    return workspace


@pytest.fixture
def page(qtbot, trained_project, tmp_path):
    copy = tmp_path / "copy.etdproj"
    shutil.copy(trained_project, copy)
    page = CustomersPage(_open(copy))
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    page.refresh()
    yield page
    page.workspace.close_project()


def test_the_list_holds_the_run_test_customers_most_suspicious_first(page):
    model = page.model
    run_id, name = page.chosen()
    test = page.book.detail(run_id)["results"][name]["curves"]["test"]
    assert model.n_total == 40  # 20% of 200 customers
    unscorable = 40 - len(test["customer"])  # dropped by the missing-data filter
    assert page.unscorable.rowCount() == unscorable
    assert all(page.unscorable.item(r, 1).text() for r in range(unscorable))
    # the count under the list says why the ranks stop before the last row
    assert unscorable > 0
    assert page.count_label.text() == (
        f"40 of 40 customers shown ({40 - unscorable} ranked; {unscorable} cannot be "
        "scored, see below)"
    )
    scores = model.columns["score"][model.rows]
    scorable = np.isfinite(scores)
    assert np.all(np.diff(scores[scorable]) <= 0)
    assert model.data(model.index(0, 0)) == "1"
    assert page.plot.heading.text().startswith(model.customer_at(0))


def test_filters_and_sorting_work_on_the_shown_rows(page):
    labels = page.model.columns["label"]
    page.label_filter.setCurrentIndex(1)  # theft
    assert page.model.rowCount() == int((labels == 1).sum())
    page.label_filter.setCurrentIndex(0)
    customer = page.model.customer_at(5)
    page.search.setText(customer[3:11].upper())
    assert (
        page.model.rowCount() >= 1 and customer in page.model.columns["customer"][page.model.rows]
    )
    page.search.clear()
    page.score_min.setValue(0.5)
    assert np.all(page.model.columns["score"][page.model.rows] >= 0.5)
    page.score_min.setValue(0.0)
    page.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # score, lowest first
    scores = page.model.columns["score"][page.model.rows]
    finite = scores[np.isfinite(scores)]
    assert np.all(np.diff(finite) >= 0)


def test_moving_through_the_list_with_the_keyboard_redraws_each_customer(qtbot, page):
    page.table.setFocus()
    page.select_row(0)
    times = []
    for row in range(1, 15):
        qtbot.keyClick(page.table, Qt.Key.Key_Down)
        assert page.plot.heading.text().startswith(page.model.customer_at(row))
        times.append(page.plot.last_draw_ms)
    print(f"redraw per customer: median {np.median(times):.1f} ms, max {max(times):.1f} ms")


def test_a_recorded_outcome_survives_reopening_the_project(qtbot, page):
    page.select_row(0)
    customer = page.selected_customer()
    page.outcome_combo.setCurrentIndex(page.outcome_combo.findData("confirmed_theft"))
    page.note.setText("bypass behind the meter")
    assert page.record_selected()
    assert page.model.data(page.model.index(0, 7)) == "confirmed theft"
    path = page.workspace.project_path
    page.workspace.close_project()

    with Project.open(path, read_only=True) as project:
        found = project.inspections()
    row = found[found["customer"] == customer].iloc[0]
    assert row["outcome"] == "confirmed_theft"
    assert row["note"] == "bypass behind the meter"

    again = CustomersPage(_open(path))
    qtbot.addWidget(again)
    again.refresh()
    shown = again.model.shown_row_of(customer)
    assert again.model.data(again.model.index(shown, 7)) == "confirmed theft"
    again.workspace.close_project()


def test_the_exported_list_is_the_shown_list(page, tmp_path):
    page.flag_filter.setCurrentIndex(1)  # predicted theft only
    shown = page.model.rowCount()
    path = page.export_csv(tmp_path / "visits.csv")
    frame = pd.read_csv(path)
    assert len(frame) == shown
    assert list(frame.columns[:3]) == ["rank", "customer", "score"]
    assert frame["predicted_theft"].all()


def test_a_new_data_set_is_scored_and_unscorable_customers_say_why(qtbot, page, tmp_path):
    from core.dataset import ConsumptionData
    from core.io import write_wide_csv

    new = make_demo(n_customers=60, n_days=120, seed=5, missing_rate=0.002, zero_rate=0.002)
    kwh = new.kwh.copy()
    kwh[:4, :60] = np.nan  # four customers with half their days missing
    new = ConsumptionData(new.customer_ids, new.days, kwh, labels=new.labels)
    path = tmp_path / "next_month.csv"
    write_wide_csv(new, path)
    with qtbot.waitSignal(page.list_changed, timeout=120_000):
        page.score_file(path)
    assert page.model.n_total == 60
    assert page.unscorable.rowCount() == 4
    assert page.unscorable.item(0, 1).text() != ""
    assert "next_month.csv" in page.source_label.text()


def test_filtering_and_sorting_42372_customers_takes_milliseconds():
    n = 42_372
    rng = np.random.default_rng(0)
    scores = rng.random(n)
    model = RankedTableModel()
    model.set_columns(
        {
            "customer": np.array([f"{i:032x}" for i in range(n)]),
            "rank": np.argsort(np.argsort(-scores)) + 1,
            "score": scores,
            "percentile": scores * 100,
            "flag": scores > 0.9,
            "label": rng.integers(0, 2, n).astype(np.int8),
            "missing": rng.random(n),
            "outcome": np.full(n, "", dtype=object),
        }
    )
    started = time.perf_counter()
    model.set_filter(CustomerFilter(text="ab", score_min=0.2, label=1))
    model.sort(2, Qt.SortOrder.DescendingOrder)
    took = time.perf_counter() - started
    shown = model.columns["score"][model.rows]
    assert np.all(np.diff(shown) <= 0) and np.all(shown >= 0.2)
    print(f"filter + sort of {n:,} customers: {took * 1000:.0f} ms")
