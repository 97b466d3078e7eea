"""The Clean wizard: live counts, outlier preview, a run in the background, the project updated."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from core.cleaning import missing_profile


@pytest.fixture
def page(window, demo_dense, qtbot):
    window.workspace.set_data(demo_dense, "dense")
    page = window.show_page("clean")
    qtbot.waitUntil(lambda: page.profile is not None, timeout=20_000)
    return page


def _expected_kept(data, threshold):
    share = missing_profile(data, zeros_as_missing=True).missing_share
    keep = share <= threshold + 1e-12
    return int(keep.sum()), int((keep & (data.labels == 1)).sum())


def test_threshold_shows_a_live_count_of_customers_kept_per_class(page, demo_dense):
    for threshold in (3.0, 1.5, 10.0):
        page.threshold.setValue(threshold)
        kept, thieves = _expected_kept(demo_dense, threshold / 100)
        assert page.kept_counts["all"] == kept
        assert page.kept_counts["theft"] == thieves
        assert f"Kept: <b>{kept:,}</b> of 200 customers" in page.kept_label.text()
        allowed = int(threshold / 100 * 400 + 1e-9)
        assert f"{threshold:.1f}% of 400 days allows at most {allowed} missing days" in (
            page.kept_label.text()
        )
    curves = [i for i in page.missing_chart.plots[0].items if isinstance(i, pg.PlotDataItem)]
    assert {c.name() for c in curves} >= {"normal", "theft"}
    assert page.threshold_line.value() == pytest.approx(10.0)


def test_dragging_the_threshold_line_sets_the_threshold(page):
    page.threshold_line.setValue(7.26)
    assert page.threshold.value() == pytest.approx(7.3)


def test_outlier_step_shows_fences_of_a_sample_customer(page, qtbot):
    page.steps.go(2)
    qtbot.waitUntil(lambda: page.outliers is not None, timeout=20_000)
    assert page.sample.count() >= 3
    assert "readings of" in page.outlier_label.text()
    box, series = page.outlier_chart.plots
    assert any(isinstance(i, pg.InfiniteLine) for i in series.items)  # the fences
    assert any(isinstance(i, pg.BarGraphItem) for i in box.items)  # the box
    assert "fences" in page.outlier_chart.note_label.text()

    cells = page.outliers["cells"]
    page.factor.setValue(1.5)  # minor outliers: more readings outside
    page.preview_outliers()
    qtbot.waitUntil(lambda: page.outliers["cells"] != cells, timeout=20_000)
    assert page.outliers["cells"] > cells


def test_running_the_cleaning_records_it_and_marks_imputed_points(
    page, qtbot, window, wait_idle, demo_dense
):
    page.method.setCurrentIndex(page.method.findData("linear"))
    page.steps.go(3)
    assert "linear interpolation" in page.summary_label.text()
    task = page.run()
    wait_idle(window)
    assert task.outcome == "finished"
    cleaned = window.workspace.cleaned
    kept, _ = _expected_kept(demo_dense, 0.03)
    assert cleaned.data.n_customers == kept
    assert not np.isnan(cleaned.data.kwh).any()
    assert cleaned.recipe["imputation"]["method"] == "linear"
    assert f"{kept:,} of 200 customers kept" in page.result_label.text()
    assert "kept in memory" in page.result_label.text()
    assert "cleaned: " in window.data_label.text()
    plot = page.result_chart.plots[0]
    names = [i.name() for i in plot.items if hasattr(i, "name") and i.name()]
    assert "as imported" in names and "cleaned" in names
    assert any(n.startswith("imputed (") for n in names)


def test_cleaning_with_a_project_open_is_stored_in_it(page, qtbot, window, tmp_path, wait_idle):
    window.save_project_as(tmp_path / "p.etdproj")
    wait_idle(window)
    page.method.setCurrentIndex(page.method.findData("linear"))
    page.run()
    wait_idle(window)
    window.workspace.wait_for_writes()
    wait_idle(window)
    project = window.workspace.project
    rows = project.list_cleaned(window.workspace.dataset_id)
    assert len(rows) == 1
    assert rows[0]["customers"] == window.workspace.cleaned.data.n_customers
    assert window.workspace.cleaned.cleaned_id == rows[0]["id"]
    assert "stored in the project" in page.result_label.text()


def test_stop_ends_a_knn_cleaning_and_keeps_nothing(qtbot, window, wait_idle):
    from core.demo import make_demo

    window.workspace.set_data(
        make_demo(n_customers=3000, n_days=600, missing_rate=0.01, zero_rate=0.0, seed=2), "big"
    )
    page = window.show_page("clean")
    task = page.run()
    # while nothing is cleaned yet there is no empty chart and no button to a page with nothing
    assert page.result_box.isHidden() and "Cleaning..." in page.result_label.text()
    qtbot.wait(300)
    page.stop()
    wait_idle(window, timeout=60_000)
    assert task.outcome in ("stopped", "finished")
    if task.outcome == "stopped":
        assert window.workspace.cleaned is None
        assert page.result_box.isHidden()
        assert "nothing kept. Run the cleaning again" in page.result_label.text()


def test_reopening_the_project_brings_the_cleaning_back(page, window, tmp_path, wait_idle):
    path = tmp_path / "again.etdproj"
    window.save_project_as(path)
    wait_idle(window)
    page.method.setCurrentIndex(page.method.findData("linear"))
    page.run()
    wait_idle(window)
    window.workspace.wait_for_writes()
    kept = window.workspace.cleaned.data.n_customers
    window.close_project()
    window.open_project(path)
    wait_idle(window)
    cleaned = window.workspace.cleaned
    assert cleaned is not None and cleaned.data.n_customers == kept
    assert cleaned.recipe["imputation"]["method"] == "linear"
    assert f"{kept:,} of 200 customers kept" in page.result_label.text()
