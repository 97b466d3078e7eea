"""Exploration arrays: class means, weekday profile, day correlation, ACF, STL, histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import explore
from core.dataset import NORMAL, THEFT, ConsumptionData
from core.errors import EtdError
from core.tasks import Cancelled, TaskState

NAN = np.nan


def make_data(kwh, labels, start="2015-01-01", ids=None) -> ConsumptionData:
    kwh = np.asarray(kwh, dtype=np.float32)
    ids = ids or [f"c{i}" for i in range(kwh.shape[0])]
    days = pd.date_range(start, periods=kwh.shape[1], freq="D")
    return ConsumptionData(ids, days, kwh, labels)


@pytest.fixture
def month_edge() -> ConsumptionData:
    """Four days across a month end: 2015-01-30, 01-31, 02-01, 02-02."""
    kwh = [
        [1, 2, 3, 4],  # theft
        [10, NAN, 20, 30],  # normal
        [0, 2, NAN, 6],  # normal
    ]
    return make_data(kwh, [THEFT, NORMAL, NORMAL], start="2015-01-30")


def test_class_means_per_month_equal_hand_computed_values(month_edge):
    means = explore.period_means(month_edge, "both", by="month")

    normal, theft = means["normal"], means["theft"]
    assert normal.labels == ["2015-01", "2015-02"]
    # January: 10, 0, 2 read (the gap ignored, not a zero); February: 20, 30, 6.
    np.testing.assert_allclose(normal.mean, [12 / 3, 56 / 3])
    np.testing.assert_array_equal(normal.readings, [3, 3])
    np.testing.assert_array_equal(normal.days, [2, 2])
    np.testing.assert_allclose(theft.mean, [1.5, 3.5])
    assert normal.starts[1] == pd.Timestamp("2015-02-01")


def test_year_and_quarter_means_and_year_filter(month_edge):
    year = explore.period_means(month_edge, "normal", by="year")
    quarter = explore.period_means(month_edge, "theft", by="quarter", year=2015)

    assert year.labels == ["2015"]
    np.testing.assert_allclose(year.mean, [68 / 6])
    assert quarter.labels == ["2015Q1"]
    np.testing.assert_allclose(quarter.mean, [2.5])
    with pytest.raises(EtdError, match="no day in 2013"):
        explore.period_means(month_edge, "theft", year=2013)


def test_daily_means_skip_missing_readings(month_edge):
    daily = explore.daily_means(month_edge, "normal")

    np.testing.assert_allclose(daily.mean, [5.0, 2.0, 20.0, 18.0])
    np.testing.assert_array_equal(daily.readings, [2, 1, 1, 2])
    customer = explore.daily_means(month_edge, "c1")
    assert np.isnan(customer.mean[1]) and customer.mean[0] == 10.0


def test_a_class_without_customers_is_said_to_be_empty(month_edge):
    no_thieves = month_edge.with_labels(np.array([NORMAL, NORMAL, NORMAL]))

    result = explore.period_means(no_thieves, "theft")

    assert not result.defined
    assert "no theft customers" in result.reason
    assert len(result.mean) == 0
    assert explore.period_means(no_thieves, "normal").defined


def test_unknown_customer_is_refused_by_name(month_edge):
    with pytest.raises(EtdError, match="'nobody' is not in this data set"):
        explore.daily_means(month_edge, "nobody")


def weekly_planted(weeks=8, seed=0) -> ConsumptionData:
    """Normals use most on Saturdays, thieves on Wednesdays; starts on Monday 2015-01-05."""
    rng = np.random.default_rng(seed)
    n_days = 7 * weeks
    weekday = np.arange(n_days) % 7
    normal = 5 + 4 * (weekday == 5) + rng.normal(0, 0.5, (30, n_days))
    theft = 8 + 3 * (weekday == 2) + rng.normal(0, 0.5, (10, n_days))
    kwh = np.vstack([normal, theft])
    kwh[rng.random(kwh.shape) < 0.1] = NAN
    return make_data(kwh, [NORMAL] * 30 + [THEFT] * 10, start="2015-01-05")


def test_weekday_profile_peaks_on_the_planted_weekday():
    data = weekly_planted()

    four_weeks = explore.weekday_profile(data, "both", weeks=4)
    whole = explore.weekday_profile(data, "normal", weeks=None)

    assert four_weeks["normal"].peak_weekday == "Saturday"
    assert four_weeks["theft"].peak_weekday == "Wednesday"
    assert whole.peak_weekday == "Saturday"
    assert len(four_weeks["normal"].daily) == 28
    assert four_weeks["normal"].days[0] == pd.Timestamp("2015-01-05")
    assert whole.readings.sum() == np.isfinite(data.kwh[:30]).sum()


def test_window_past_the_end_is_cut_with_a_note_and_outside_start_refused():
    data = weekly_planted(weeks=3)

    profile = explore.weekday_profile(data, "normal", start="2015-01-19", weeks=4)

    assert len(profile.days) == 7
    assert any("has only 7 days" in note for note in profile.notes)
    with pytest.raises(EtdError, match="outside the data"):
        explore.weekday_profile(data, "normal", start="2016-01-01")


def test_acf_of_a_weekly_sine_peaks_at_lag_7_with_its_band():
    t = np.arange(70)
    data = make_data(
        [10 + 5 * np.sin(2 * np.pi * t / 7), np.ones(70)], [NORMAL, THEFT], ids=["sine", "flat"]
    )

    result = explore.autocorrelation(data, "sine", nlags=20)

    assert result.defined
    np.testing.assert_array_equal(result.lags, np.arange(21))
    assert result.acf[0] == pytest.approx(1.0)
    assert int(np.argmax(result.acf[1:])) + 1 == 7
    assert result.acf[7] > 0.8
    assert np.all(result.lower[1:] < result.acf[1:]) and np.all(result.acf[1:] < result.upper[1:])
    assert np.all(result.band[1:] > 0) and result.band[7] > result.band[1]


def test_acf_window_and_lags_are_clamped_with_a_note():
    t = np.arange(70)
    data = make_data([10 + 5 * np.sin(2 * np.pi * t / 7)], [NORMAL])

    result = explore.autocorrelation(data, "normal", days=28, nlags=40)

    assert result.lags[-1] == 27
    assert any("only 27 lags" in note for note in result.notes)


def test_stl_with_gaps_gives_finite_components_and_recovers_the_trend():
    rng = np.random.default_rng(1)
    t = np.arange(140)
    trend = 5 + 0.05 * t
    series = trend + 2 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.2, len(t))
    series[[0, 1]] = NAN  # unread at the start: left out
    series[[20, 21, 22, 60, 95, 96]] = NAN  # gaps inside: interpolated
    data = make_data([series], [NORMAL], ids=["one"])

    result = explore.decompose(data, "one", period=7)

    assert result.defined
    assert len(result.days) == 138 and result.days[0] == pd.Timestamp("2015-01-03")
    for part in (result.observed, result.trend, result.seasonal, result.residual):
        assert part.shape == (138,) and np.isfinite(part).all()
    assert int(result.filled.sum()) == 6
    error = np.abs(result.trend - trend[2:])[7:-7]
    assert error.max() < 0.5 and error.mean() < 0.15
    np.testing.assert_allclose(result.observed, result.trend + result.seasonal + result.residual)
    assert any("6 day(s)" in note for note in result.notes)


def test_constant_series_are_undefined_with_the_reason():
    zeros = np.zeros((5, 56))
    data = make_data(zeros, [NORMAL, NORMAL, NORMAL, NORMAL, THEFT])

    acf = explore.autocorrelation(data, "c2")
    stl = explore.decompose(data, "theft")
    corr = explore.day_correlation(data, "normal")

    assert not acf.defined and len(acf.acf) == 0
    assert acf.reason == (
        "this customer's readings are constant (all 0.0 kWh): autocorrelation is undefined"
    )
    assert not stl.defined
    assert "the theft class mean is constant (all 0.0 kWh)" in stl.reason
    assert not corr.defined and corr.matrix.size == 0
    assert "correlation between days is undefined" in corr.reason


def test_too_few_readings_are_undefined_with_the_reason():
    kwh = np.full((1, 60), NAN)
    kwh[0, :5] = [1, 2, 3, 2, 1]
    data = make_data(kwh, [NORMAL])

    acf = explore.autocorrelation(data, "c0")
    stl = explore.decompose(data, "c0", period=7)
    sparse_stl = explore.decompose(data, "c0", period=2, days=12)

    assert not acf.defined and "only 5 readings" in acf.reason
    assert not stl.defined and "at least 15" in stl.reason
    assert not sparse_stl.defined and "only 5 of 12 days" in sparse_stl.reason


def test_pairwise_day_correlation_matches_pandas_pairwise_complete():
    rng = np.random.default_rng(2)
    base = rng.gamma(2, 2, (40, 1))
    kwh = base + rng.normal(0, 1, (40, 10))
    kwh[rng.random(kwh.shape) < 0.2] = NAN
    data = make_data(kwh, [NORMAL] * 40)

    result = explore.day_correlation(data, "normal", days=None)

    expected = pd.DataFrame(kwh).corr(min_periods=3).to_numpy()
    assert result.matrix.shape == (10, 10) and result.customers == 40
    np.testing.assert_allclose(result.matrix, expected, atol=1e-5)
    assert (result.matrix[~np.eye(10, dtype=bool)] > 0.3).all()


def test_mean_fill_day_correlation_equals_corrcoef_of_filled_readings():
    rng = np.random.default_rng(3)
    kwh = rng.gamma(2, 2, (30, 1)) + rng.normal(0, 1, (30, 8))
    kwh[rng.random(kwh.shape) < 0.2] = NAN
    data = make_data(kwh, [THEFT] * 30)

    result = explore.day_correlation(data, "theft", days=8, missing="mean_fill")

    filled = np.where(np.isnan(kwh), np.nanmean(kwh, axis=0), kwh)
    np.testing.assert_allclose(result.matrix, np.corrcoef(filled, rowvar=False), atol=1e-5)


def test_a_day_everyone_read_alike_is_named_and_one_customer_is_undefined():
    rng = np.random.default_rng(4)
    kwh = rng.normal(5, 1, (20, 6))
    kwh[:, 2] = 3.0
    data = make_data(kwh, [NORMAL] * 20)

    result = explore.day_correlation(data, "normal", days=6)
    customer = explore.day_correlation(data, "c0")

    assert result.defined
    assert result.undefined_days == ["2015-01-03"]
    assert np.isnan(result.matrix[2]).all() and np.isfinite(result.matrix[0, [0, 1, 3]]).all()
    assert not customer.defined and "one customer" in customer.reason


def test_histogram_clips_a_single_spike_and_counts_it():
    kwh = np.tile(np.arange(10, dtype=float), (20, 1))
    kwh[3, 4] = 10_000.0
    kwh[5, 5] = NAN
    data = make_data(kwh, [NORMAL] * 10 + [THEFT] * 10)

    clipped = explore.consumption_histogram(data, "normal", bins=9, clip_percentile=98)
    whole = explore.consumption_histogram(data, "normal", bins=9, clip_percentile=None)

    assert clipped.readings == 99
    assert clipped.above == 1 and clipped.clip_value < 10
    assert clipped.counts.sum() + clipped.above == 99
    assert whole.edges[-1] == 10_000.0 and whole.counts[0] == 98


def test_histogram_log_bins_leave_zeros_aside_and_both_share_edges():
    kwh = np.tile(np.array([0.0, 0.1, 0.5, 5.0, 50.0, 100.0]), (6, 1))
    data = make_data(kwh, [NORMAL] * 3 + [THEFT] * 3)

    both = explore.consumption_histogram(data, "both", bins=3, clip_percentile=None, log_bins=True)

    normal = both["normal"]
    np.testing.assert_allclose(normal.edges, [0.1, 1.0, 10.0, 100.0], rtol=1e-6)
    np.testing.assert_array_equal(normal.counts, [6, 3, 6])
    assert normal.zeros == 3 and any("zero reading" in n for n in normal.notes)
    np.testing.assert_array_equal(both["theft"].edges, normal.edges)


def test_exploration_stops_when_cancelled():
    state = TaskState()
    state.cancel()

    with pytest.raises(Cancelled):
        explore.day_correlation(weekly_planted(), "both", state=state)


def test_progress_reaches_the_end():
    seen = []
    state = TaskState(on_progress=seen.append)

    explore.daily_means(weekly_planted(), "both", state=state)

    assert seen[-1] == 1.0 and (np.diff(seen) >= 0).all()


def read_sgcc_slice(path) -> ConsumptionData:
    """The real slice read plainly with pandas (not through core.io, tested elsewhere)."""
    frame = pd.read_csv(path)
    readings = frame.drop(columns=["CONS_NO", "FLAG"])
    readings.columns = pd.to_datetime(readings.columns)
    calendar = pd.date_range(readings.columns[0], readings.columns[-1], freq="D")
    readings = readings.reindex(columns=calendar)  # the absent 2016-09-18 becomes a gap
    return ConsumptionData(
        frame["CONS_NO"].astype(str), calendar, readings.to_numpy(np.float32), frame["FLAG"]
    )


def test_real_sgcc_normals_are_more_alike_day_to_day_and_thieves_use_more(sgcc_191):
    data = read_sgcc_slice(sgcc_191)

    corr = explore.day_correlation(data, "both", days=None)
    years = explore.period_means(data, "both", by="year")
    stl = explore.decompose(data, "normal")

    assert corr["normal"].matrix.shape == (1035, 1035)
    assert np.nanmean(corr["normal"].matrix) > np.nanmean(corr["theft"].matrix) + 0.1
    assert "2016-09-18" in corr["normal"].undefined_days
    assert years["theft"].labels == ["2014", "2015", "2016"]
    assert (years["theft"].mean > years["normal"].mean).all()
    absent = stl.days.get_loc(pd.Timestamp("2016-09-18"))
    assert stl.defined and stl.filled[absent] and np.isfinite(stl.trend).all()
