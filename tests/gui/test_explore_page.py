"""The Explore page: each view draws the engine's arrays, for a class, both, or one customer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from core import explore
from core.dataset import UNKNOWN


def _show(page, qtbot, view, group="both", customer=""):
    page.set_view(view)
    page.set_group(group, customer)
    task = page.compute()
    qtbot.waitUntil(lambda: task.outcome is not None, timeout=30_000)
    assert task.outcome == "finished" and page.task is task
    return page.chart


def _curves(chart):
    return [i for p in chart.plots for i in p.items if isinstance(i, pg.PlotDataItem)]


@pytest.fixture
def page(window, demo_small):
    window.workspace.set_data(demo_small, "demo")
    return window.show_page("explore")


def test_monthly_means_draw_one_bar_set_per_class(page, qtbot, demo_small):
    chart = _show(page, qtbot, "months")
    bars = [i for i in chart.plots[0].items if isinstance(i, pg.BarGraphItem)]
    assert len(bars) == 2
    expected = explore.period_means(demo_small, "theft", by="month", year=2015)
    np.testing.assert_allclose(bars[0].opts["height"], np.nan_to_num(expected.mean), rtol=1e-6)


def test_daily_mean_draws_mean_curves_with_a_percentile_band(page, qtbot, demo_small):
    chart = _show(page, qtbot, "daily")
    curves = [c for c in _curves(chart) if c.name()]
    assert sorted(c.name() for c in curves) == ["normal customers (mean)", "theft customers (mean)"]
    assert len(curves[0].yData) == 1035
    assert "Pick one class" in chart.note_label.text()
    chart = _show(page, qtbot, "daily", "normal")
    assert any(isinstance(i, pg.FillBetweenItem) for i in chart.plots[0].items)
    assert "10th-90th percentile" in chart.note_label.text()


def test_one_customer_shows_their_readings_with_gaps(page, qtbot, demo_small):
    row = int(np.argmax(np.isnan(demo_small.kwh).sum(axis=1) > 50))
    customer = demo_small.customer_ids[row]
    chart = _show(page, qtbot, "daily", "customer", customer)
    curve = _curves(chart)[0]
    np.testing.assert_array_equal(np.isnan(curve.yData), np.isnan(demo_small.kwh[row]))
    assert curve.opts["connect"] == "finite"  # a gap stays a gap


def test_correlation_heatmaps_with_a_colour_bar(page, qtbot):
    chart = _show(page, qtbot, "corr_weeks")
    images = [i for p in chart.plots for i in p.items if isinstance(i, pg.ImageItem)]
    assert len(images) == 2 and images[0].image.shape == (28, 28)
    assert any(isinstance(i, pg.ColorBarItem) for i in chart.graphics.ci.items)


@pytest.mark.parametrize(
    "view, n_plots",
    [("weekday", 2), ("acf", 1), ("stl", 4), ("histogram", 1), ("years", 1), ("quarters", 1)],
)
def test_every_view_draws_something(page, qtbot, view, n_plots):
    chart = _show(page, qtbot, view)
    assert len(chart.plots) == n_plots
    assert any(p.items for p in chart.plots)


def test_thieves_of_an_unlabelled_set_are_explained_not_drawn(window, qtbot, demo_small):
    window.workspace.set_data(demo_small.with_labels(np.full(120, UNKNOWN)), "no labels")
    page = window.show_page("explore")
    chart = _show(page, qtbot, "daily", "theft")
    assert not _curves(chart)
    assert "no theft customers" in chart.note_label.text()


def test_clip_toggle_keeps_a_spike_from_flattening_the_chart(page, qtbot, demo_small):
    row = int(np.argmax(np.nanmax(demo_small.kwh, axis=1)))
    chart = _show(page, qtbot, "daily", "customer", demo_small.customer_ids[row])
    qtbot.wait(50)
    top_clipped = chart.plots[0].viewRange()[1][1]
    chart.clip_box.setChecked(False)
    qtbot.wait(50)
    top_full = chart.plots[0].viewRange()[1][1]
    assert top_full > top_clipped


def test_charts_export_to_png_and_svg(page, qtbot, tmp_path):
    chart = _show(page, qtbot, "years")
    png = chart.export(tmp_path / "years.png")
    svg = chart.export(tmp_path / "years.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()[:500]


def test_one_customer_curve_is_named_for_the_customer_not_a_class_mean(page, qtbot, demo_small):
    row = int(np.argmax(np.isnan(demo_small.kwh).sum(axis=1) > 50))
    customer = demo_small.customer_ids[row]
    chart = _show(page, qtbot, "daily", "customer", customer)
    assert _curves(chart)[0].name() == f"customer {customer}"
    assert chart.title_label.text() == "Daily readings of one customer"
    read = int(np.isfinite(demo_small.kwh[row]).sum())
    assert f"{read:,} of 1,035 days have a reading" in chart.note_label.text()


def test_histogram_says_once_how_many_spikes_are_not_drawn(page, qtbot):
    chart = _show(page, qtbot, "histogram", "theft")
    note = chart.note_label.text()
    assert "above" in note
    assert note.count("above") == 1


def test_a_year_covered_only_in_part_is_said_so_under_the_bars(window, qtbot):
    from core.demo import make_demo

    window.workspace.set_data(make_demo(n_customers=60, n_days=26, seed=5), "26 days")
    page = window.show_page("explore")
    chart = _show(page, qtbot, "years")
    assert "2014-01-01 to 2014-01-26: 2014 is only partly covered" in chart.note_label.text()


def test_whole_periods_carry_no_partial_note(page, qtbot):
    chart = _show(page, qtbot, "months")  # 2015 lies wholly inside the demo's 1,035 days
    assert "partly covered" not in chart.note_label.text()
