"""KNN imputation across customers: scikit-learn's values, without its pitfalls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import KNNImputer

from core.cleaning import impute, knn_impute
from core.dataset import ConsumptionData
from core.tasks import Cancelled, TaskState


def gappy(n_customers, n_days, *, seed, share=0.25, complete=0):
    """Gamma-distributed readings with random gaps; the first ``complete`` rows have none."""
    rng = np.random.default_rng(seed)
    kwh = rng.gamma(2.0, 5.0, size=(n_customers, n_days))
    kwh[rng.random(kwh.shape) < share] = np.nan
    kwh[:complete] = rng.gamma(2.0, 5.0, size=(complete, n_days))
    return kwh


def as_data(kwh):
    ids = [f"c{i:03d}" for i in range(len(kwh))]
    return ConsumptionData(ids, pd.date_range("2015-03-01", periods=kwh.shape[1]), kwh)


def test_values_match_scikit_learn_on_gappy_and_complete_customers():
    kwh = gappy(150, 40, seed=3, complete=30)

    ours = knn_impute(kwh, 5)
    reference = KNNImputer(n_neighbors=5).fit_transform(kwh)

    assert np.isnan(kwh).sum() > 1000
    assert not np.isnan(ours).any()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_values_match_scikit_learn_with_training_donors_for_new_customers():
    donors = gappy(120, 30, seed=4, complete=10)
    new = gappy(25, 30, seed=5, share=0.4)

    ours = knn_impute(new, 5, donors=donors)
    reference = KNNImputer(n_neighbors=5).fit(donors).transform(new)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    # Donors are only read: their own gaps stay.
    assert np.isnan(donors).sum() > 0


def test_small_blocks_and_other_k_give_the_same_values_as_scikit_learn():
    kwh = gappy(90, 25, seed=6, share=0.5)

    ours = knn_impute(kwh, 3, block_rows=7)
    reference = KNNImputer(n_neighbors=3).fit_transform(kwh)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_fewer_donors_than_k_and_no_common_days_follow_scikit_learn():
    kwh = np.array(
        [
            [1.0, 2.0, np.nan, np.nan],
            [2.0, 3.0, 4.0, np.nan],
            [np.nan, np.nan, 6.0, 8.0],  # no day in common with the first customer
            [5.0, np.nan, np.nan, 10.0],
        ]
    )

    ours = knn_impute(kwh, 5)
    reference = KNNImputer(n_neighbors=5).fit_transform(kwh)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)
    # The first customer's third day: the only donor within reach is the second customer.
    assert ours[0, 2] == pytest.approx(4.0)


def test_float32_readings_come_back_as_float32_close_to_scikit_learn():
    kwh = gappy(60, 20, seed=7).astype(np.float32)

    ours = knn_impute(kwh)

    assert ours.dtype == np.float32
    reference = KNNImputer().fit_transform(kwh.astype(np.float64))
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-5)


def test_a_day_without_any_reading_keeps_its_place_and_later_days_do_not_shift():
    kwh = gappy(80, 20, seed=8)
    kwh[:, 6] = np.nan

    ours = knn_impute(kwh)

    assert ours.shape == kwh.shape
    assert np.isnan(ours[:, 6]).all()
    reference = KNNImputer().fit_transform(kwh)  # scikit-learn drops the empty column
    assert reference.shape[1] == 19
    np.testing.assert_allclose(np.delete(ours, 6, axis=1), reference, atol=1e-6)
    known = ~np.isnan(kwh[:, 7])
    np.testing.assert_array_equal(ours[known, 7], kwh[known, 7])


def test_imputation_step_fills_an_empty_day_along_time_and_reports_it():
    kwh = gappy(50, 12, seed=9, complete=50)
    kwh[:, 4] = np.nan
    data = as_data(kwh)

    filled, imputed, report = impute(data, "knn")

    assert report["empty_days"] == ["2015-03-05"]
    assert report["filled_by_interpolation"] == 50
    np.testing.assert_allclose(
        filled.kwh[:, 4], (kwh[:, 3] + kwh[:, 5]) / 2, rtol=1e-6
    )  # halfway between the neighbouring days
    np.testing.assert_allclose(filled.kwh[:, 5], kwh[:, 5].astype(np.float32))
    assert imputed[:, 4].all() and imputed.sum() == 50


def test_a_customer_without_readings_is_flagged_not_invented():
    kwh = gappy(40, 15, seed=10)
    kwh[12] = np.nan
    data = as_data(kwh)

    assert np.isnan(knn_impute(kwh)[12]).all()
    filled, imputed, report = impute(data, "knn")

    assert report["customers_without_readings"] == ["c012"]
    assert np.isnan(filled.kwh[12]).all()
    assert not imputed[12].any()
    assert report["left_missing"] == 15


def test_cancel_stops_the_imputation_between_blocks():
    kwh = gappy(120, 30, seed=11)
    blocks = []

    def progress(fraction):
        blocks.append(fraction)
        if len(blocks) == 2:
            state.cancel()

    state = TaskState(on_progress=progress)
    with pytest.raises(Cancelled):
        knn_impute(kwh, state=state, block_rows=10)
    assert 0 < blocks[-1] < 0.5


def test_nothing_to_fill_returns_a_copy():
    kwh = gappy(10, 5, seed=12, complete=10)

    out = knn_impute(kwh)

    np.testing.assert_array_equal(out, kwh)
    assert out is not kwh


def test_bad_arguments_are_refused_with_the_shapes():
    with pytest.raises(ValueError, match="same 5 days"):
        knn_impute(np.ones((3, 5)), donors=np.ones((3, 4)))
    with pytest.raises(ValueError, match="at least 1"):
        knn_impute(np.ones((3, 5)), n_neighbors=0)


def test_large_readings_with_small_differences_still_pick_the_true_neighbours():
    # Around 5,000 kWh with differences of a few kWh, float32 products alone cannot rank
    # the donors; the exact float64 check must.
    rng = np.random.default_rng(13)
    shape = rng.normal(0.0, 3.0, size=(4, 30))
    kwh = 5000.0 + shape[rng.integers(0, 4, size=100)] + rng.normal(0.0, 0.5, size=(100, 30))
    kwh[rng.random(kwh.shape) < 0.2] = np.nan

    ours = knn_impute(kwh, 5)
    reference = KNNImputer(n_neighbors=5).fit_transform(kwh)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_customers_whose_short_list_of_neighbours_runs_out_are_redone_exactly(monkeypatch):
    import core.cleaning.knn as knn

    kwh = gappy(120, 30, seed=14, share=0.6)
    monkeypatch.setattr(knn, "_NEAREST_KEPT", 4)

    ours = knn_impute(kwh, 5, block_rows=25)
    reference = KNNImputer(n_neighbors=5).fit_transform(kwh)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_a_frozen_build_caches_the_compiled_loops_in_the_users_cache_folder(monkeypatch, tmp_path):
    from core.cleaning import neighbour_search

    monkeypatch.setattr(neighbour_search.sys, "frozen", True, raising=False)
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda name: str(tmp_path / name))
    monkeypatch.setenv("NUMBA_CACHE_DIR", "set by the test")
    monkeypatch.delenv("NUMBA_CACHE_DIR")

    neighbour_search._writable_cache_dir()

    folder = neighbour_search.os.environ["NUMBA_CACHE_DIR"]
    assert folder.startswith(str(tmp_path)) and folder.endswith("numba")
    assert (tmp_path / "etd-workbench" / "numba").is_dir()
    # A folder the user chose is left alone.
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/chosen")
    neighbour_search._writable_cache_dir()
    assert neighbour_search.os.environ["NUMBA_CACHE_DIR"] == "/chosen"


def test_only_the_days_a_short_list_cannot_prove_are_redone_and_values_stay_exact(monkeypatch):
    import core.cleaning.knn as knn

    kwh = gappy(300, 40, seed=15, share=0.1)
    kwh[np.random.default_rng(16).random(300) < 0.9, 5] = np.nan  # a day few customers have
    monkeypatch.setattr(knn, "_NEAREST_KEPT", 12)
    redone = []
    fill_by_blocks = knn._fill_by_blocks
    monkeypatch.setattr(
        knn, "_fill_by_blocks", lambda *a: redone.append(a[2].sum(axis=1)) or fill_by_blocks(*a)
    )

    ours = knn_impute(kwh, 5, block_rows=64)
    reference = KNNImputer(n_neighbors=5).fit_transform(kwh)

    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    # Customers miss about five days each; only the rare day goes to the full donor rows.
    days_redone = np.concatenate(redone)
    assert 0 < len(days_redone) < 300 and set(days_redone.tolist()) == {1}
