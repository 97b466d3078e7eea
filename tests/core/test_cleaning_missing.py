"""Missing-data profile and filter: counts per customer, kept and dropped per class."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.cleaning import filter_customers, longest_run, missing_profile
from core.dataset import NORMAL, THEFT, UNKNOWN, ConsumptionData


def make_data():
    """Five customers over 100 days with known gaps and zeros."""
    kwh = np.full((5, 100), 2.0, dtype=np.float32)
    kwh[1, 10:12] = np.nan  # 2 empty days
    kwh[1, 50] = 0.0  # and 1 zero: 3% missing with zeros, 2% without
    kwh[2, 0:5] = 0.0  # 5 zero days in a row
    kwh[2, 70:80] = np.nan  # 10 empty days in a row
    kwh[3] = np.nan  # no readings
    kwh[4, ::2] = np.nan  # every other day empty
    labels = [NORMAL, THEFT, THEFT, NORMAL, UNKNOWN]
    ids = ["a", "b", "c", "d", "e"]
    return ConsumptionData(ids, pd.date_range("2016-01-01", periods=100), kwh, labels)


def test_profile_counts_empty_and_zero_days_and_the_longest_gap():
    profile = missing_profile(make_data())

    np.testing.assert_array_equal(profile.empty_days, [0, 2, 10, 100, 50])
    np.testing.assert_array_equal(profile.zero_days, [0, 1, 5, 0, 0])
    np.testing.assert_array_equal(profile.missing_days, [0, 3, 15, 100, 50])
    np.testing.assert_array_equal(profile.longest_gap, [0, 2, 10, 100, 1])
    np.testing.assert_allclose(profile.missing_share, [0, 0.03, 0.15, 1.0, 0.5])


def test_zeros_can_count_as_readings():
    profile = missing_profile(make_data(), zeros_as_missing=False)

    np.testing.assert_array_equal(profile.missing_days, [0, 2, 10, 100, 50])
    np.testing.assert_array_equal(profile.longest_gap, [0, 2, 10, 100, 1])


def test_filter_keeps_customers_at_the_threshold_and_counts_per_class():
    kept_data, kept, report = filter_customers(make_data(), threshold=0.03)

    np.testing.assert_array_equal(kept, [True, True, False, False, False])
    assert list(kept_data.customer_ids) == ["a", "b"]
    assert report["per_class"] == {
        "normal": {"kept": 1, "dropped": 1},
        "theft": {"kept": 1, "dropped": 1},
        "unlabelled": {"kept": 0, "dropped": 1},
    }
    assert report["kept"] == 2 and report["dropped"] == 3 and report["no_readings"] == 1
    reasons = report["dropped_customers"]
    assert reasons["d"] == "no readings"
    assert reasons["c"].startswith("15 of 100 days empty or zero (15.0%")
    assert kept_data.notes[-1].kind == "customers_filtered"


def test_minimum_history_drops_short_customers_with_its_own_reason():
    _, kept, report = filter_customers(make_data(), threshold=1.0, min_days=60)

    np.testing.assert_array_equal(kept, [True, True, True, False, False])
    assert report["dropped_customers"]["e"] == "only 50 days with readings (needs 60)"


def test_kept_counts_for_any_threshold_come_from_the_profile_alone():
    profile = missing_profile(make_data())

    loose = profile.kept_counts(threshold=0.2)
    strict = profile.kept_counts(threshold=0.0)

    assert loose["theft"] == {"kept": 2, "dropped": 0}
    assert strict["theft"] == {"kept": 0, "dropped": 2}
    assert strict["normal"] == {"kept": 1, "dropped": 1}


def test_longest_run_of_a_boolean_matrix():
    mask = np.array([[0, 1, 1, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]], bool)

    np.testing.assert_array_equal(longest_run(mask), [3, 7, 0])
