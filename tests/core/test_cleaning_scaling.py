"""Scaling: day ranges fitted on training customers, per-customer ranges, no NaN ever."""

from __future__ import annotations

import numpy as np

from core.cleaning import DayRanges, interpolate_linear, scale_per_customer


def test_day_columns_map_training_minimum_to_0_and_maximum_to_1():
    train = np.array([[1.0, 5.0, 3.0], [3.0, 5.0, 7.0], [2.0, 5.0, 5.0]])

    ranges = DayRanges.fit(train)
    X = ranges.apply(train)

    np.testing.assert_allclose(X, [[0, 0, 0], [1, 0, 1], [0.5, 0, 0.5]])
    assert X.dtype == np.float32


def test_new_customers_outside_the_training_range_are_clipped():
    ranges = DayRanges.fit(np.array([[0.0, 10.0], [10.0, 20.0]]))

    X = ranges.apply(np.array([[-5.0, 25.0], [100.0, 15.0]]), clip=5.0)

    np.testing.assert_allclose(X, [[0.0, 1.5], [5.0, 0.5]])


def test_constant_columns_and_customers_give_zero_not_nan():
    kwh = np.array([[4.0, 4.0, 4.0], [4.0, 1.0, 7.0]])

    assert not np.isnan(DayRanges.fit(kwh).apply(kwh)).any()
    np.testing.assert_allclose(DayRanges.fit(kwh).apply(kwh)[:, 0], [0.0, 0.0])
    np.testing.assert_allclose(scale_per_customer(kwh), [[0, 0, 0], [0.5, 0, 1]])


def test_linear_interpolation_fills_between_readings_and_holds_the_ends():
    kwh = np.array([[np.nan, 2.0, np.nan, np.nan, 8.0, np.nan], [np.nan] * 6])

    out = interpolate_linear(kwh)

    np.testing.assert_allclose(out[0], [2.0, 2.0, 4.0, 6.0, 8.0, 8.0])
    assert np.isnan(out[1]).all()


def test_linear_interpolation_can_be_limited_to_some_days():
    kwh = np.array([[1.0, np.nan, 3.0, np.nan, 5.0]])

    out = interpolate_linear(kwh, days=[3])

    assert np.isnan(out[0, 1]) and out[0, 3] == 4.0


def test_a_high_quantile_keeps_one_huge_reading_from_squashing_the_day():
    train = np.tile(np.arange(1.0, 101.0)[:, None], (1, 2))  # 1 .. 100 kWh on both days
    train[99, 0] = 10_000.0  # one commercial user on day 0

    plain = DayRanges.fit(train).apply(train)
    robust = DayRanges.fit(train, high_quantile=0.9).apply(train, clip=1.0)

    assert np.median(plain[:, 0]) < 0.01
    high = np.percentile(train[:, 0], 90)  # 90.1 kWh
    np.testing.assert_allclose(robust[50, 0], (51.0 - 1.0) / (high - 1.0), rtol=1e-6)
    assert robust[:, 0].max() == 1.0 and (robust[89:, 0] == 1.0).sum() == 10
    np.testing.assert_allclose(robust[:, 1], np.minimum((train[:, 1] - 1) / (high - 1), 1.0))
