"""The recipe: recorded as JSON, fitted on training customers, applied unchanged to new ones."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.cleaning import knn_impute
from core.dataset import ConsumptionData
from core.errors import ArtifactError
from core.recipe import FittedRecipe, Recipe, RecipeError, clean, clean_with_masks


def customers(n, *, seed, days=60, start=0):
    """Customers with one empty day each; every fourth also misses 15 days in a row (beyond
    the 3% threshold); one spike; one in five thieves."""
    rng = np.random.default_rng(seed)
    kwh = rng.gamma(3.0, 2.0, size=(n, days)).astype(np.float32)
    kwh[np.arange(n), rng.integers(0, days, size=n)] = np.nan
    kwh[::4, 10:25] = np.nan
    kwh[1, 30] = 400.0
    ids = [f"k{start + i:04d}" for i in range(n)]
    labels = (np.arange(n) % 5 == 0).astype(int)
    return ConsumptionData(ids, pd.date_range("2015-01-01", periods=days), kwh, labels)


def through_files(meta, arrays):
    """What an artifact does: JSON text and .npy bytes without pickle."""
    meta = json.loads(json.dumps(meta))
    loaded = {}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        buffer.seek(0)
        loaded[name] = np.load(buffer, allow_pickle=False)
    return meta, loaded


def test_default_recipe_is_the_reference_method():
    d = Recipe().to_dict()

    assert d["missing_filter"] == {"threshold": 0.03, "zeros_as_missing": True, "min_days": 0}
    assert d["imputation"] == {"method": "knn", "k": 5}
    assert d["outliers"] == {"rule": "iqr", "factor": 3.0, "treatment": "cap"}
    assert d["scaling"]["method"] == "minmax_day"
    assert d["scaling"]["high_quantile"] == 1.0  # the day's maximum maps to 1


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(),
        Recipe(threshold=0.1, zeros_as_missing=False, min_days=30, imputation="linear"),
        Recipe(outlier_rule="sigma", outlier_factor=2.5, outlier_treatment="drop", scaling="none"),
        Recipe(scale_high_quantile=0.99, scale_clip=1.0),
    ],
)
def test_recipe_survives_a_json_round_trip(recipe):
    text = json.dumps(recipe.to_dict())

    assert Recipe.from_dict(json.loads(text)) == recipe


@pytest.mark.parametrize(
    "d, words",
    [
        ({"missing_filter": {"threshold": 3}}, "missing_filter.threshold is 3"),
        ({"imputation": {"k": "five"}}, "imputation.k must be a whole number"),
        ({"imputation": {"method": "mean"}}, "imputation.method is 'mean'"),
        ({"outliers": {"factor": -1}}, "outliers.factor must be above 0"),
        ({"outliers": {"fence": 2}}, "unknown setting outliers.fence"),
        ({"balance": {}}, "unknown section 'balance'"),
        ({"missing_filter": {"zeros_as_missing": "yes"}}, "must be true or false"),
        ({"version": 9}, "version 9 is not supported"),
        ({"scaling": {"high_quantile": 0.3}}, "scaling.high_quantile is 0.3"),
    ],
)
def test_bad_recipe_values_are_refused_naming_the_setting(d, words):
    with pytest.raises(RecipeError, match=words):
        Recipe.from_dict(d)


def test_fit_transform_equals_fit_then_transform_on_the_training_customers():
    train = customers(80, seed=1)

    fitted, prepared = Recipe().fit_transform(train)
    again = fitted.transform(train)

    np.testing.assert_array_equal(prepared.X, again.X)
    assert prepared.X.shape == (60, 60)  # the 20 customers with long gaps are dropped
    assert prepared.X.dtype == np.float32 and np.isfinite(prepared.X).all()
    assert prepared.X.min() == 0.0 and prepared.X.max() == 1.0
    assert prepared.imputed_mask.shape == prepared.X.shape == prepared.outlier_mask.shape
    assert prepared.kept.sum() == 60 and len(prepared.dropped_reasons) == 20
    assert "k0000" in prepared.dropped_reasons and not prepared.kept[0]


def test_new_customers_are_imputed_from_the_training_donors():
    train, new = customers(80, seed=2), customers(30, seed=3, start=500)
    recipe = Recipe(outlier_treatment="keep", scaling="none")

    fitted = recipe.fit(train)
    prepared = fitted.transform(new)

    kept_new = new.kwh[prepared.kept]
    expected = knn_impute(kept_new, 5, donors=fitted.donors)
    np.testing.assert_allclose(prepared.data.kwh, expected, rtol=1e-6)
    assert fitted.donors.shape == (60, 60)
    np.testing.assert_array_equal(prepared.imputed_mask, np.isnan(kept_new))


def test_fitted_state_round_trip_gives_identical_output():
    train, new = customers(80, seed=4), customers(40, seed=5, start=500)
    for recipe in (Recipe(), Recipe(imputation="linear", outlier_treatment="missing")):
        fitted = recipe.fit(train)

        meta, arrays = through_files(*fitted.to_json_and_arrays())
        restored = FittedRecipe.from_json_and_arrays(meta, arrays)

        first, second = fitted.transform(new), restored.transform(new)
        np.testing.assert_array_equal(first.X, second.X)
        assert first.dropped_reasons == second.dropped_reasons
        assert json.dumps(first.report) and meta["n_days"] == 60


def test_damaged_fitted_state_is_refused():
    meta, arrays = Recipe().fit(customers(40, seed=6)).to_json_and_arrays()

    with pytest.raises(ArtifactError, match="lacks its 'donors'"):
        FittedRecipe.from_json_and_arrays(meta, {k: v for k, v in arrays.items() if k != "donors"})
    with pytest.raises(ArtifactError, match="'day_low' array has shape"):
        FittedRecipe.from_json_and_arrays(meta, {**arrays, "day_low": arrays["day_low"][:5]})
    with pytest.raises(ArtifactError, match="not a fitted recipe"):
        FittedRecipe.from_json_and_arrays({"format": "other"}, arrays)


def test_data_with_another_day_count_is_refused():
    fitted = Recipe().fit(customers(40, seed=7))

    with pytest.raises(RecipeError, match="fitted on 60 days"):
        fitted.transform(customers(10, seed=8, days=59))


def test_without_imputation_the_gaps_enter_the_models_as_zero_kwh():
    train = customers(40, seed=9)
    recipe = Recipe(threshold=0.5, imputation="none", outlier_treatment="keep", scaling="none")

    _, prepared = recipe.fit_transform(train)

    gaps = np.isnan(prepared.data.kwh)
    assert gaps.sum() > 100
    assert (prepared.X[gaps] == 0).all() and np.isfinite(prepared.X).all()
    assert prepared.report["scaling"]["gaps_as_zero"] == gaps.sum()
    assert not prepared.imputed_mask.any()


def test_outlier_drop_removes_the_customer_with_a_reason():
    train = customers(40, seed=10)
    recipe = Recipe(outlier_rule="sigma", outlier_factor=6.0, outlier_treatment="drop")

    _, prepared = recipe.fit_transform(train)

    assert "k0001" in prepared.dropped_reasons
    assert "outside the outlier fences" in prepared.dropped_reasons["k0001"]
    assert not prepared.kept[1]
    assert prepared.X.shape[0] == prepared.kept.sum() == prepared.data.n_customers


def test_clean_returns_cleaned_kwh_without_scaling():
    data = customers(40, seed=11)

    cleaned, report = clean(data, Recipe())

    assert cleaned.n_customers == 30 and not np.isnan(cleaned.kwh).any()
    assert cleaned.kwh[1, 30] < 100  # the spike was capped, the kWh are not scaled
    assert cleaned.kwh.max() > 1.0
    assert report["filter"]["per_class"]["theft"] == {"kept": 6, "dropped": 2}
    assert {n.kind for n in cleaned.notes} >= {"customers_filtered", "outliers_treated"}
    json.dumps(report)


def test_clean_with_masks_shows_what_was_filled_and_flagged():
    data = customers(40, seed=13)

    result = clean_with_masks(data, Recipe())

    assert result.raw.shape == result.data.kwh.shape == result.imputed_mask.shape
    np.testing.assert_array_equal(result.imputed_mask, np.isnan(result.raw))
    spiky = result.data.index_of("k0001")
    assert result.outlier_mask[spiky, 30] and result.raw[spiky, 30] == 400.0
    changed = result.data.kwh != result.raw
    np.testing.assert_array_equal(changed, result.imputed_mask | result.outlier_mask)


def test_cleaning_keeps_no_one_is_an_error_when_fitting():
    data = customers(8, seed=12)
    data.kwh[:, :5] = np.nan

    with pytest.raises(RecipeError, match="kept none of the 8 training customers"):
        Recipe().fit(data)


def test_reference_recipe_on_the_real_slice_keeps_the_absent_day_in_place(sgcc_191):
    from core.io import read_dataset

    data = read_dataset(sgcc_191)
    raw = pd.read_csv(sgcc_191)
    readings = raw.drop(columns=["CONS_NO", "FLAG"]).to_numpy(float)
    # Missing days counted by hand: zero or empty cells, plus the calendar day the file lacks.
    share = (((readings == 0) | np.isnan(readings)).sum(axis=1) + 1) / 1035
    kept_flags = raw["FLAG"][share <= 0.03]

    fitted, prepared = Recipe().fit_transform(data)

    counts = prepared.report["filter"]["per_class"]
    assert counts["theft"]["kept"] == (kept_flags == 1).sum()
    assert counts["normal"]["kept"] == (kept_flags == 0).sum()
    assert prepared.report["imputation"]["empty_days"] == ["2016-09-18"]
    assert prepared.X.shape == (len(kept_flags), 1035)
    day = data.days.get_loc(pd.Timestamp("2016-09-18"))
    cleaned = prepared.data.kwh
    assert prepared.imputed_mask[:, day].all() and prepared.imputed_mask.sum() == len(kept_flags)
    # Filled halfway between its neighbours where none of the three days was an outlier.
    untouched = ~prepared.outlier_mask[:, day - 1 : day + 2].any(axis=1)
    midway = (cleaned[:, day - 1] + cleaned[:, day + 1]) / 2
    assert untouched.sum() > 100
    np.testing.assert_allclose(cleaned[untouched, day], midway[untouched], rtol=1e-5)


def test_robust_day_scaling_lifts_ordinary_customers_off_zero_and_is_stored():
    train = customers(80, seed=8)
    kwh = train.kwh.copy()
    kwh[5:9] *= 300.0  # four commercial users
    train = ConsumptionData(train.customer_ids, train.days, kwh, train.labels)

    plain = Recipe(outlier_treatment="keep").fit_transform(train)[1]
    fitted, robust = Recipe(
        outlier_treatment="keep", scale_high_quantile=0.9, scale_clip=1.0
    ).fit_transform(train)
    again = FittedRecipe.from_json_and_arrays(*through_files(*fitted.to_json_and_arrays()))

    assert np.median(plain.X) < 0.02
    assert 0.3 < np.median(robust.X) < 0.7 and robust.X.max() == 1.0
    assert robust.report["scaling"]["high_quantile"] == 0.9
    np.testing.assert_array_equal(again.transform(train).X, robust.X)
