"""The demo data set looks and behaves like SGCC enough for every later step to mean something."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.dataset import NORMAL, THEFT
from core.demo import CHUNK_CUSTOMERS, DEMO_PATTERNS, make_demo
from core.tasks import Cancelled, TaskState


@pytest.fixture(scope="module")
def default_demo():
    """The data set the workbench opens by default, with each customer's theft pattern."""
    return make_demo(return_patterns=True)


def _unreadable_share(kwh: np.ndarray) -> np.ndarray:
    """Per customer: share of days empty or zero (the reference method's filter counts both)."""
    return (np.isnan(kwh) | (kwh == 0)).mean(axis=1)


def _usual_level(kwh: np.ndarray) -> np.ndarray:
    """Median of each customer's positive readings (NaN for a customer with none)."""
    positive = np.where(kwh > 0, kwh, np.nan)
    usual = np.full(len(kwh), np.nan)
    has = (positive > 0).any(axis=1)
    usual[has] = np.nanmedian(positive[has], axis=1)
    return usual


def _weekly_acf(series: np.ndarray, lag: int) -> float:
    """Autocorrelation at ``lag`` after taking out the slow seasonal trend (29-day mean)."""
    trend = np.convolve(series, np.ones(29) / 29, mode="same")
    rest = (series - trend)[14:-14]
    rest = rest - rest.mean()
    return float(np.corrcoef(rest[:-lag], rest[lag:])[0, 1])


def test_shape_calendar_and_source():
    data = make_demo(60, 400, start="2015-03-01", seed=2)

    assert data.kwh.shape == (60, 400)
    assert data.kwh.dtype == np.float32
    assert data.days[0].date().isoformat() == "2015-03-01"
    assert data.days[-1].date().isoformat() == "2016-04-03"
    assert data.source["name"] == "demo" and data.source["format"] == "demo"
    assert data.source["seed"] == 2 and data.source["generator"] == "core.demo"
    assert data.source["version"] == 1
    assert [n.kind for n in data.notes] == ["demo"]
    assert "not real customers" in data.notes[0].message
    assert data.is_labelled


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    a = make_demo(300, 120, seed=7)
    b = make_demo(300, 120, seed=7)
    c = make_demo(300, 120, seed=8)

    np.testing.assert_array_equal(a.kwh, b.kwh)
    assert list(a.customer_ids) == list(b.customer_ids)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.kwh, c.kwh, equal_nan=True)
    assert set(a.customer_ids).isdisjoint(c.customer_ids)


def test_ids_are_unique_32_digit_hex(default_demo):
    data, _ = default_demo
    assert all(re.fullmatch(r"[0-9A-F]{32}", c) for c in data.customer_ids)
    assert len(set(data.customer_ids)) == data.n_customers


def test_thieves_are_about_nine_percent(default_demo):
    data, _ = default_demo
    assert data.theft_count == 180
    assert 0.08 <= data.theft_count / data.n_customers <= 0.10
    assert make_demo(500, 30, theft_fraction=0.2).theft_count == 100
    assert make_demo(5, 30, theft_fraction=0.01).theft_count == 1


def test_every_theft_pattern_is_present_and_only_thieves_have_one(default_demo):
    data, patterns = default_demo
    assert set(patterns[data.labels == THEFT]) == set(DEMO_PATTERNS)
    assert set(patterns[data.labels == NORMAL]) == {""}
    assert all(text.endswith(".") and len(text) < 120 for text in DEMO_PATTERNS.values())


def test_missing_and_zero_cells_come_at_sgcc_rates_clustered_by_customer(default_demo):
    data, _ = default_demo
    assert 0.20 <= data.missing_fraction <= 0.30
    assert 0.09 <= data.zero_fraction <= 0.17

    empty_share = np.isnan(data.kwh).mean(axis=1)
    assert (empty_share <= 0.01).mean() >= 0.2  # nearly complete meters
    assert (empty_share >= 0.3).mean() >= 0.2  # long empty stretches
    assert (~(data.kwh > 0).any(axis=1)).sum() >= 10  # a few meters never read anything


def test_three_percent_filter_keeps_enough_customers_and_thieves(default_demo):
    data, patterns = default_demo
    kept = _unreadable_share(data.kwh) <= 0.03

    assert 400 <= kept.sum() <= 0.4 * data.n_customers
    assert (data.labels[kept] == THEFT).sum() >= 35
    assert len(set(patterns[kept & (data.labels == THEFT)])) >= 6


def test_normal_customers_follow_a_weekly_rhythm_and_thieves_less(default_demo):
    data, _ = default_demo
    kwh = data.kwh.astype(np.float64)
    kwh[kwh > 50 * _usual_level(kwh)[:, None]] = np.nan  # meter faults would dominate a mean

    normal_mean = np.nanmean(kwh[data.labels == NORMAL], axis=0)
    theft_mean = np.nanmean(kwh[data.labels == THEFT], axis=0)

    assert _weekly_acf(normal_mean, 7) > 0.4
    assert _weekly_acf(normal_mean, 7) > _weekly_acf(normal_mean, 3) + 0.4
    assert _weekly_acf(normal_mean, 7) > _weekly_acf(theft_mean, 7) + 0.1


def test_normal_use_dips_at_chinese_new_year_and_peaks_in_summer(default_demo):
    data, _ = default_demo
    normal_mean = np.nanmedian(data.kwh[data.labels == NORMAL], axis=0)
    day = {d.date().isoformat(): i for i, d in enumerate(data.days)}

    new_year_2015 = normal_mean[day["2015-02-19"] : day["2015-02-26"]].mean()
    weeks_before = normal_mean[day["2015-01-20"] : day["2015-02-10"]].mean()
    summer_2015 = normal_mean[day["2015-07-10"] : day["2015-08-10"]].mean()
    spring_2015 = normal_mean[day["2015-04-10"] : day["2015-05-10"]].mean()

    assert new_year_2015 < 0.85 * weeks_before
    assert summer_2015 > 1.15 * spring_2015


def test_meter_fault_spikes_exist(default_demo):
    data, _ = default_demo
    ratio = data.kwh / _usual_level(data.kwh)[:, None]

    spikes = np.argwhere(ratio >= 150)
    assert len(spikes) >= 10
    assert np.nanmax(ratio) >= 500
    kept = _unreadable_share(data.kwh) <= 0.03
    assert kept[spikes[:, 0]].any()  # the outlier step has something to find after the filter


def test_flat_thieves_read_an_almost_constant_amount_at_the_end(default_demo):
    data, patterns = default_demo
    tail = data.kwh[patterns == "flat", -int(0.2 * data.n_days) :]  # always after the start day
    spread = []
    for row in tail:
        readings = row[row > 0]
        if len(readings) >= 20:
            median = np.median(readings)
            spread.append(np.median(np.abs(readings - median)) / median)
    assert len(spread) >= 5
    assert np.median(spread) < 0.03
    assert max(spread) < 0.1  # rounding to 0.01 kWh widens it for the smallest users


def test_a_number_replaces_the_clustered_gaps_and_zeros():
    complete = make_demo(200, 200, missing_rate=0.0, zero_rate=0.0, theft_fraction=0.0)
    scattered = make_demo(400, 300, missing_rate=0.1, zero_rate=0.05, seed=1)

    assert not np.isnan(complete.kwh).any()
    assert complete.zero_fraction == 0.0
    assert scattered.missing_fraction == pytest.approx(0.1, abs=0.01)
    assert scattered.zero_fraction == pytest.approx(0.05, abs=0.01)


def test_progress_is_reported_per_chunk_and_stop_is_honoured():
    seen = []
    state = TaskState(on_progress=seen.append)
    make_demo(CHUNK_CUSTOMERS + 10, 20, state=state)
    assert seen == [0.5, 1.0]

    stopped = TaskState()
    stopped.cancel()
    with pytest.raises(Cancelled):
        make_demo(50, 20, state=stopped)


def test_tiny_sizes_work_and_bad_sizes_are_refused():
    one = make_demo(1, 1, theft_fraction=0.0)
    assert one.kwh.shape == (1, 1) and one.theft_count == 0

    with pytest.raises(ValueError, match="n_customers"):
        make_demo(0)
    with pytest.raises(ValueError, match="theft_fraction"):
        make_demo(10, theft_fraction=1.5)
    with pytest.raises(ValueError, match="missing_rate"):
        make_demo(10, missing_rate=1.0)


def test_a_boosted_model_finds_thieves_well_but_not_perfectly(default_demo):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    data, _ = default_demo
    kept = _unreadable_share(data.kwh) <= 0.03
    X, y = data.kwh[kept], data.labels[kept]

    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with threadpool_limits(1):  # the shared test machine is small; threads only fight
        scores = cross_val_predict(
            HistGradientBoostingClassifier(max_iter=60, random_state=0),
            X, y, cv=folds, method="predict_proba",
        )[:, 1]  # fmt: skip
    auc = roc_auc_score(y, scores)  # every customer scored by a model that never saw it
    assert 0.72 <= auc <= 0.95


def test_odd_settings_name_the_setting_and_are_user_errors():
    from core.errors import EtdError

    for settings, word in [
        ({"n_customers": 2.5}, "n_customers"),
        ({"n_customers": True}, "n_customers"),
        ({"seed": -1}, "seed"),
        ({"start": "2014-13-01"}, "start"),
        ({"start": None}, "start"),
        ({"theft_fraction": float("nan")}, "theft_fraction"),
    ]:
        with pytest.raises(EtdError, match=word):
            make_demo(**{"n_customers": 5, "n_days": 3, **settings})


def test_all_thieves_or_none_are_allowed():
    assert make_demo(6, 3, theft_fraction=1.0).theft_count == 6
    assert make_demo(6, 3, theft_fraction=0.0).theft_count == 0
