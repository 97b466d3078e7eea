"""The model definitions: the study's settings, the days-to-steps rule, the boosting export."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core.errors import ArtifactError, TrainingError
from core.models import (
    MODEL_NAMES,
    build,
    default_params,
    layout_for,
    resolve_params,
    series_layout,
)
from core.models.gbm import STATISTICS, GbmModel, customer_statistics, make_estimator


def test_importing_the_engine_does_not_load_tensorflow():
    code = (
        "import sys, core.models, core.training; "
        "sys.exit(1 if 'tensorflow' in sys.modules or 'keras' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_defaults_are_the_studys_hyperparameters():
    mlp = default_params("mlp")
    assert (mlp["first_units"], mlp["second_units"], mlp["dropout"], mlp["batch_size"]) == (
        1034,
        365,
        0.5,
        250,
    )
    cnn = default_params("cnn_lstm")
    assert (cnn["filters"], cnn["kernel_size"], cnn["lstm_units"], cnn["batch_size"]) == (
        64,
        3,
        100,
        64,
    )
    conv = default_params("conv_lstm")
    assert (conv["filters"], conv["dense_units"], conv["batch_size"]) == (64, 200, 250)
    assert (conv["plateau_factor"], conv["plateau_patience"], conv["min_learning_rate"]) == (
        0.5,
        20,
        1e-4,
    )
    assert set(MODEL_NAMES) == {"mlp", "cnn_lstm", "conv_lstm", "gbm"}


def test_an_unknown_setting_is_refused_with_the_known_ones_listed():
    with pytest.raises(TrainingError, match="lstm_unitz") as err:
        resolve_params("cnn_lstm", {"lstm_unitz": 10})
    assert "lstm_units" in str(err.value)
    with pytest.raises(TrainingError, match="Unknown model"):
        default_params("transformer")


def test_studys_1034_days_make_11_steps_of_94():
    cut = series_layout(1034)
    assert (cut.steps, cut.days_per_step, cut.dropped, cut.note) == (11, 94, 0, "")


def test_sgcc_1035_days_drop_the_oldest_day():
    cut = series_layout(1035)
    assert (cut.steps, cut.days_per_step, cut.dropped, cut.used_days) == (11, 94, 1, 1034)
    assert "oldest 1 day dropped" in cut.note


def test_26_days_use_fewer_steps_and_say_so():
    cnn = layout_for("cnn_lstm", 26, default_params("cnn_lstm"))
    assert (cnn.steps, cnn.days_per_step, cnn.dropped) == (4, 6, 2)
    assert "using 4 steps" in cnn.note
    conv = layout_for("conv_lstm", 26, default_params("conv_lstm"))
    assert (conv.steps, conv.days_per_step, conv.dropped) == (8, 3, 2)
    flat = layout_for("mlp", 26, default_params("mlp"))
    assert (flat.steps, flat.days_per_step, flat.dropped) == (1, 26, 0)


def test_a_series_too_short_for_two_steps_is_refused():
    with pytest.raises(TrainingError, match="11 days: too short"):
        layout_for("cnn_lstm", 11, default_params("cnn_lstm"))


def test_layout_survives_a_round_trip_through_a_dict():
    cut = series_layout(1035)
    assert type(cut).from_dict(cut.to_dict()) == cut


def test_sequence_models_cut_1035_days_into_11_by_94_inside_the_network():
    for name in ("cnn_lstm", "conv_lstm"):
        model = build(name, 1035)
        assert model.input_shape == (None, 1035)
        assert model.output_shape == (None, 1)
        steps = model.get_layer("steps").output.shape
        assert tuple(steps[1:3]) in {(11, 94), (11, 1)}
        assert model.get_layer("drop_oldest_days") is not None
    mlp = build("mlp", 1035, {"first_units": 16, "second_units": 8})
    assert [layer.units for layer in mlp.layers if hasattr(layer, "units")] == [16, 8, 1]


def test_fused_conv_lstm_computes_exactly_keras_conv_lstm2d():
    import keras

    from core.models.conv_lstm import fused_layer_class

    x = np.random.default_rng(0).random((4, 11, 1, 20, 1)).astype("float32")
    stock = keras.layers.ConvLSTM2D(8, (1, 3), activation="relu")
    expected = np.asarray(stock(x))
    fused = fused_layer_class()(8, 3)
    fused(x)
    # same shapes and the same unit forget bias at the start
    assert [w.shape for w in fused.get_weights()] == [w.shape for w in stock.get_weights()]
    np.testing.assert_array_equal(fused.get_weights()[2], stock.get_weights()[2])
    fused.set_weights(stock.get_weights())
    np.testing.assert_allclose(np.asarray(fused(x)), expected, rtol=0, atol=1e-6)
    assert np.abs(expected).max() > 0.01  # the comparison is not between zeros


# gradient boosting ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boosting_data():
    rng = np.random.default_rng(3)
    n, d = 400, 40
    y = (rng.random(n) < 0.25).astype(int)
    X = rng.gamma(2.0, 1.0, (n, d))
    X[y == 1] *= rng.uniform(0.2, 0.8, (int(y.sum()), 1))
    X[rng.random((n, d)) < 0.05] = np.nan
    return X, y


def test_exported_trees_score_exactly_like_scikit_learn(boosting_data):
    X, y = boosting_data
    params = default_params("gbm") | {"max_iter": 60, "n_iter_no_change": 1000}
    estimator = make_estimator(params, seed=0)
    with threadpool_limits(1, "openmp"):  # OpenMP spins badly on a busy 2-core machine
        estimator.fit(X, y)
    exported = GbmModel.from_estimator(estimator, X.shape[1], params)

    expected = estimator.predict_proba(X)[:, 1]
    got = exported.predict_features(X)
    assert exported.n_trees == estimator.n_iter_
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.array_equal(got, expected)  # same order of summation: bit for bit


def test_boosting_files_reload_to_identical_scores(boosting_data, tmp_path):
    X, y = boosting_data
    params = default_params("gbm") | {"max_iter": 20, "use_readings": False}
    estimator = make_estimator(params, seed=0)
    F = customer_statistics(X)
    with threadpool_limits(1, "openmp"):
        estimator.fit(F, y)
    model = GbmModel.from_estimator(estimator, X.shape[1], params, keep=12)
    assert model.n_trees == 12
    model.save(tmp_path)
    loaded = GbmModel.load(tmp_path)
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_damaged_boosting_arrays_are_refused(boosting_data, tmp_path):
    X, y = boosting_data
    params = default_params("gbm") | {"max_iter": 5}
    estimator = make_estimator(params, seed=0)
    with threadpool_limits(1, "openmp"):
        estimator.fit(X, y)
    model = GbmModel.from_estimator(estimator, X.shape[1], params)
    model.arrays["left"] = model.arrays["left"] + 10_000
    model.save(tmp_path)
    with pytest.raises(ArtifactError, match="damaged"):
        GbmModel.load(tmp_path)


def test_customer_statistics_on_known_series():
    week = np.tile([1.0, 1, 1, 1, 1, 5, 5], 8)  # strongly weekly
    flat_zero = np.zeros(56)
    ramp = np.arange(56.0)
    stats = customer_statistics(np.vstack([week, flat_zero, ramp]))
    col = {name: stats[:, i] for i, name in enumerate(STATISTICS)}
    np.testing.assert_allclose(col["mean"], [np.mean(week), 0.0, 27.5])
    assert col["zero_share"][1] == 1.0 and col["zero_share"][0] == 0.0
    assert col["autocorrelation_lag7"][0] > 0.8
    np.testing.assert_allclose(col["trend_slope"][2], 1.0)
    assert col["variation"][1] == 0.0  # no division by a zero mean
    assert col["last_to_first_quarter"][2] > 1.0


def test_statistics_of_a_customer_without_readings_are_missing():
    X = np.vstack([np.full(30, np.nan), np.ones(30)])
    stats = customer_statistics(X)
    assert np.isnan(stats[0, STATISTICS.index("mean")])
    assert stats[1, STATISTICS.index("mean")] == 1.0


def test_folded_cnn_lstm_computes_exactly_the_time_distributed_one():
    params = default_params("cnn_lstm") | {"steps": 5, "filters": 8, "lstm_units": 8}
    study = build("cnn_lstm", 62, params | {"fold_steps": False})
    folded = build("cnn_lstm", 62, params)
    assert "TimeDistributed" in {type(layer).__name__ for layer in study.layers}
    assert "TimeDistributed" not in {type(layer).__name__ for layer in folded.layers}
    assert [w.shape for w in folded.get_weights()] == [w.shape for w in study.get_weights()]
    assert folded.count_params() == study.count_params()

    folded.set_weights(study.get_weights())
    x = np.random.default_rng(0).random((6, 62)).astype("float32")
    expected = np.asarray(study(x, training=False))
    np.testing.assert_allclose(np.asarray(folded(x, training=False)), expected, atol=1e-6)
    assert np.ptp(expected) > 1e-3  # the comparison is not between constants
