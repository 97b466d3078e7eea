"""The Balance wizard: counts before and after, synthetic curves, training-only statement."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from core.recipe import Recipe
from etd_desktop.workspace import CleaningResult


@pytest.fixture
def page(window, demo_dense, qtbot):
    window.workspace.set_data(demo_dense, "dense")
    recipe = Recipe(imputation="linear")
    window.workspace.set_cleaned(CleaningResult.from_fit(recipe, *recipe.fit_transform(demo_dense)))
    return window.show_page("balance")


def _preview(page, qtbot):
    task = page.run_preview()
    qtbot.waitUntil(lambda: task.outcome is not None, timeout=30_000)
    return task


def test_borderline_smote_grows_the_thieves_to_the_normals(page, qtbot, window):
    cleaned = window.workspace.cleaned.data
    task = _preview(page, qtbot)
    assert task.outcome == "finished"
    after = page.preview["after"]
    assert after["normal"] == cleaned.normal_count
    assert after["theft_real"] == cleaned.theft_count
    assert after["theft_real"] + after["theft_synthetic"] == cleaned.normal_count
    assert f"{after['theft_synthetic']:,} synthetic" in page.counts_label.text()
    bars = [i for i in page.counts_chart.plots[0].items if isinstance(i, pg.BarGraphItem)]
    assert len(bars) == 3
    names = [i.name() for i in page.curves_chart.plots[0].items if isinstance(i, pg.PlotDataItem)]
    assert any(n.startswith("synthetic thieves") for n in names)
    assert any(n.startswith("real thieves") for n in names)
    assert window.workspace.balance.method == "borderline_smote"
    assert window.workspace.balance.params["ratio"] == 1.0


def test_a_half_ratio_and_random_oversampling(page, qtbot, window):
    page.set_method("random_over")
    page.ratio.setValue(0.5)
    _preview(page, qtbot)
    after = page.preview["after"]
    assert after["theft_real"] + after["theft_synthetic"] == pytest.approx(
        0.5 * after["normal"], abs=1
    )
    assert window.workspace.balance.method == "random_over"
    assert not page.m_neighbors.isEnabled()


def test_the_page_says_balancing_touches_training_customers_only(page):
    text = page.statement.text()
    assert "training customers only" in text
    assert "validation and test customers stay real" in text


def test_impossible_neighbours_are_explained(page, qtbot, window):
    page.k_neighbors.setValue(50)  # more neighbours than thieves
    page.set_method("smote")
    task = _preview(page, qtbot)
    if window.workspace.cleaned.data.theft_count <= 50:
        assert task.outcome == "failed"
        assert "does not work here" in page.messages.text()


def test_without_cleaning_the_page_sends_the_user_to_clean(window, demo_dense):
    window.workspace.set_data(demo_dense, "dense")
    page = window.show_page("balance")
    assert not page.showing_content
    assert "Clean the data first" in page.empty.heading.text()


def test_the_page_points_to_the_next_step_training(page, window):
    page.train_button.click()
    assert window.stack.currentWidget() is window.pages.slots["train"]
