"""Outlier fences per customer and their treatments."""

from __future__ import annotations

import numpy as np
import pytest

from core.cleaning import outlier_fences, row_quantiles, treat_outliers


def spiky(seed=0):
    rng = np.random.default_rng(seed)
    kwh = rng.gamma(4.0, 2.0, size=(6, 60)).astype(np.float32)
    kwh[2, 17] = 900.0  # a planted spike
    return kwh


def test_a_planted_spike_is_capped_at_the_customers_upper_fence():
    kwh = spiky()
    q1, q3 = np.percentile(kwh[2].astype(np.float64), [25, 75])
    fence = q3 + 3.0 * (q3 - q1)

    treated, flagged, drop, report = treat_outliers(kwh, "iqr", 3.0, "cap")

    assert treated[2, 17] == pytest.approx(fence, rel=1e-6)
    assert flagged[2, 17]
    assert report["above_fence"] >= 1 and report["flagged_cells"] == flagged.sum()
    others = ~flagged
    np.testing.assert_array_equal(treated[others], kwh[others])
    assert not drop.any()


def test_minor_and_extreme_levels_are_both_counted():
    kwh = spiky()

    _, flagged, _, report = treat_outliers(kwh, "iqr", 3.0, "keep")

    assert report["extreme_cells"] == flagged.sum()
    assert report["minor_cells"] >= report["extreme_cells"]
    q1, q3 = np.percentile(kwh.astype(np.float64), [25, 75], axis=1)
    minor = (kwh > (q3 + 1.5 * (q3 - q1))[:, None]) | (kwh < (q1 - 1.5 * (q3 - q1))[:, None])
    assert report["minor_cells"] == minor.sum()


def test_three_sigma_fences_use_the_customers_mean_and_deviation():
    kwh = spiky()
    row = kwh[2].astype(np.float64)

    low, high = outlier_fences(kwh, "sigma", 3.0)

    assert high[2] == pytest.approx(row.mean() + 3 * row.std())
    assert low[2] == pytest.approx(row.mean() - 3 * row.std())


def test_missing_treatment_empties_the_flagged_readings_and_drop_marks_the_customer():
    kwh = spiky()

    emptied, flagged, _, _ = treat_outliers(kwh, "iqr", 3.0, "missing")
    assert np.isnan(emptied[2, 17]) and np.isnan(emptied).sum() == flagged.sum()

    same, _, drop, report = treat_outliers(kwh, "iqr", 3.0, "drop")
    assert drop[2] and report["customers_dropped"] == drop.sum()
    np.testing.assert_array_equal(same, kwh)


def test_row_quantiles_match_numpy_with_gaps():
    rng = np.random.default_rng(1)
    kwh = rng.normal(size=(20, 31))
    kwh[rng.random(kwh.shape) < 0.3] = np.nan
    kwh[5] = np.nan

    ours = row_quantiles(kwh, (0.25, 0.5, 0.75))

    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        reference = np.nanpercentile(kwh, [25, 50, 75], axis=1)
    np.testing.assert_allclose(ours, reference, equal_nan=True)


def test_unknown_rule_or_treatment_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        outlier_fences(spiky(), "mad")
    with pytest.raises(ValueError, match="choose one of"):
        treat_outliers(spiky(), treatment="clip")


def test_a_flattened_customer_keeps_its_small_steps_and_loses_only_the_spike():
    kwh = np.full((2, 200), 5.0)
    kwh[0, [10, 50, 90, 130]] = 7.0  # a meter flattened at 5 kWh, with a few real steps
    kwh[0, 160] = 3000.0
    kwh[1] = np.random.default_rng(2).gamma(4.0, 2.0, size=200)  # an ordinary customer

    treated, flagged, _, report = treat_outliers(kwh, "iqr", 3.0, "cap")

    # IQR is 0; the spread falls back to the usual level, 5 kWh: upper fence 5 + 3 * 5.
    assert np.flatnonzero(flagged[0]).tolist() == [160]
    assert treated[0, 160] == pytest.approx(20.0)
    np.testing.assert_array_equal(treated[0, :160], kwh[0, :160])
    assert report["fallback_customers"] == 1
    # The ordinary customer keeps the published fences.
    q1, q3 = np.percentile(kwh[1], [25, 75])
    low, high = outlier_fences(kwh, "iqr", 3.0)
    assert high[1] == pytest.approx(q3 + 3.0 * (q3 - q1))
    assert low[1] == pytest.approx(q1 - 3.0 * (q3 - q1))


def test_a_mostly_zero_customer_keeps_its_usual_days():
    kwh = np.zeros((1, 100))
    kwh[0, 80:95] = [4.0, 5.0, 6.0, 4.5, 5.5, 4.0, 5.0, 6.0, 4.5, 5.5, 4.0, 5.0, 6.0, 4.5, 900.0]

    _, flagged, _, report = treat_outliers(kwh, "iqr", 3.0, "keep")

    # Fences 0 -/+ 3 x 5 kWh (median of the non-zero days): only the 900 kWh day is extreme.
    assert np.flatnonzero(flagged[0]).tolist() == [94]
    assert report["fallback_customers"] == 1 and report["extreme_cells"] == 1
