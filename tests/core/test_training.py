"""Training: the loss falls, a cancel stops within a batch, models reload and check day counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ArtifactError, TrainingError
from core.models import MODEL_NAMES
from core.tasks import TaskState
from core.training import HISTORY_KEYS, load_trained, train_model
from core.training.loop import binary_log_loss

BATCH_KEYS = {"model", "epoch", "batch", "batches", "loss", "accuracy"}
EPOCH_KEYS = {
    "model",
    "epoch",
    "epochs",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "val_roc_auc",
    "elapsed",
    "remaining",
    "best_epoch",
}

# Small enough to train in seconds on a busy laptop, big enough to learn.
FAST = {
    "mlp": {"first_units": 64, "second_units": 32, "batch_size": 25},
    "cnn_lstm": {
        "steps": 5,
        "filters": 8,
        "lstm_units": 16,
        "dense_units": 16,
        "batch_size": 25,
        "learning_rate": 0.005,
    },
    "conv_lstm": {"filters": 8, "dense_units": 16, "batch_size": 25},
    "gbm": {"max_iter": 40},
}


def _customers(n, n_days, seed):
    """Thieves read lower and flatter than normal customers, whose use peaks weekly."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[: n // 3] = 1
    rng.shuffle(y)
    week = 0.5 + 0.3 * np.sin(np.arange(n_days) * 2 * np.pi / 7)
    X = week + 0.15 * rng.standard_normal((n, n_days))
    X[y == 1] = 0.35 + 0.15 * rng.standard_normal((int(y.sum()), n_days))
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def split():
    X, y = _customers(200, 60, seed=1)
    return X[:150], y[:150], X[150:], y[150:]


class Recorder:
    def __init__(self, cancel_at=None):
        self.events = []
        self.cancel_at = cancel_at
        self.state = TaskState(on_event=self.on_event)

    def on_event(self, kind, payload):
        self.events.append((kind, payload))
        if kind == "batch" and (payload["epoch"], payload["batch"]) == self.cancel_at:
            self.state.cancel()

    def of(self, kind):
        return [p for k, p in self.events if k == kind]


@pytest.fixture(scope="module", params=MODEL_NAMES)
def trained(request, split):
    name = request.param
    recorder = Recorder()
    model = train_model(
        name, *split, params=FAST[name], epochs=6, patience=50, seed=0, state=recorder.state
    )
    return model, recorder


def test_the_loss_falls_and_the_detector_ranks_thieves_first(trained, split):
    model, _ = trained
    loss = model.history["loss"]
    assert loss[-1] < loss[0] * 0.95
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(split[3], model.predict(split[2])) > 0.8


def test_history_and_events_carry_the_promised_keys(trained):
    model, recorder = trained
    assert set(model.history) == set(HISTORY_KEYS)
    epochs = len(model.history["loss"])
    assert all(len(v) == epochs for v in model.history.values())
    assert 1 <= model.best_epoch <= epochs
    best = model.history["val_loss"][model.best_epoch - 1]
    assert best == min(model.history["val_loss"])

    epoch_events = recorder.of("epoch")
    assert len(epoch_events) == epochs
    assert all(set(p) >= EPOCH_KEYS for p in epoch_events)
    assert [p["epoch"] for p in epoch_events] == list(range(1, epochs + 1))
    if model.name != "gbm":
        batches = recorder.of("batch")
        assert all(set(p) == BATCH_KEYS for p in batches)
        assert len(batches) == epochs * 6  # 150 customers in batches of 25
        assert epoch_events[-1]["elapsed"] > epoch_events[0]["elapsed"] > 0
    assert model.device.startswith(("CPU", "GPU"))
    assert recorder.state.progress == 1.0


def test_a_saved_model_reloads_to_the_same_scores(trained, split, tmp_path):
    model, _ = trained
    paths = model.save(tmp_path)
    assert all(p.exists() for p in paths)
    assert not any(p.suffix in {".pkl", ".pickle", ".joblib"} for p in paths)
    loaded = load_trained(tmp_path)
    assert (loaded.name, loaded.n_days, loaded.best_epoch) == (model.name, 60, model.best_epoch)
    before, after = model.predict(split[2]), loaded.predict(split[2])
    if model.name == "gbm":
        assert np.array_equal(before, after)
    else:
        np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)
    assert np.all((after >= 0) & (after <= 1))


def test_a_model_refuses_data_of_another_day_count(trained, split):
    model, _ = trained
    with pytest.raises(ArtifactError, match="trained on 60 days; the data has 26 days"):
        model.predict(split[2][:, :26])


def test_a_manifest_that_disagrees_with_the_files_is_refused(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path)
    with pytest.raises(ArtifactError, match="n_days"):
        load_trained(tmp_path, {"name": model.name, "n_days": 1035})


def test_cancel_stops_within_a_batch_and_keeps_a_working_model(split):
    recorder = Recorder(cancel_at=(1, 2))
    model = train_model("mlp", *split, params=FAST["mlp"], epochs=5, state=recorder.state)
    assert model.stopped
    assert len(recorder.of("batch")) == 2  # an epoch has 6
    assert recorder.of("epoch") == []
    assert model.best_epoch == 0 and model.history["loss"] == []
    assert np.all(np.isfinite(model.predict(split[2])))


def test_cancel_later_restores_the_best_epochs_weights(split):
    recorder = Recorder(cancel_at=(4, 2))
    model = train_model("mlp", *split, params=FAST["mlp"], epochs=8, state=recorder.state)
    assert model.stopped and len(model.history["val_loss"]) == 3
    assert model.best_epoch == 1 + int(np.argmin(model.history["val_loss"]))
    # the kept weights are the best epoch's, not those of the interrupted one
    val_loss = binary_log_loss(split[3], model.predict(split[2]))
    assert val_loss == pytest.approx(min(model.history["val_loss"]), abs=1e-5)


def test_early_stopping_ends_after_patience_epochs_without_progress(split):
    model = train_model(
        "mlp", *split, params=FAST["mlp"] | {"learning_rate": 0.05}, epochs=30, patience=2
    )
    epochs = len(model.history["loss"])
    assert epochs < 30
    assert epochs == model.best_epoch + 2


def test_plateau_halves_the_learning_rate_down_to_its_floor(split):
    params = FAST["conv_lstm"] | {
        "plateau_patience": 1,
        "plateau_min_delta": 100.0,  # no epoch counts as progress
        "learning_rate": 1e-3,
        "min_learning_rate": 3e-4,
    }
    model = train_model("conv_lstm", *split, params=params, epochs=4)
    # epoch 1 sets the mark; each later epoch misses it and halves the rate for the next one
    np.testing.assert_allclose(model.history["lr"], [1e-3, 1e-3, 5e-4, 3e-4], rtol=1e-5)


def test_the_same_seed_repeats_a_run(split):
    one = train_model("mlp", *split, params=FAST["mlp"], epochs=2, seed=7)
    two = train_model("mlp", *split, params=FAST["mlp"], epochs=2, seed=7)
    np.testing.assert_allclose(one.predict(split[2]), two.predict(split[2]), atol=1e-5)
    g1 = train_model("gbm", *split, params=FAST["gbm"], seed=7)
    g2 = train_model("gbm", *split, params=FAST["gbm"], seed=7)
    assert np.array_equal(g1.predict(split[2]), g2.predict(split[2]))


def test_a_26_day_series_trains_with_fewer_steps(split):
    X_train, y_train, X_val, y_val = (a[:, :26] if a.ndim == 2 else a for a in split)
    model = train_model(
        "cnn_lstm", X_train, y_train, X_val, y_val, params=FAST["cnn_lstm"], epochs=1
    )
    assert (model.layout["steps"], model.layout["days_per_step"]) == (4, 6)
    assert "using 4 steps" in model.notes[0]
    assert model.predict(X_val).shape == (50,)


def test_one_class_or_missing_readings_are_refused(split):
    X_train, y_train, X_val, y_val = split
    with pytest.raises(TrainingError, match="all of one class"):
        train_model("gbm", X_train, np.zeros_like(y_train), X_val, y_val)
    holes = X_train.copy()
    holes[3, 4] = np.nan
    with pytest.raises(TrainingError, match="missing or infinite"):
        train_model("mlp", holes, y_train, X_val, y_val)
    with pytest.raises(TrainingError, match="Unknown model"):
        train_model("svm", X_train, y_train, X_val, y_val)


def test_saved_description_is_plain_json_without_nan(split, tmp_path):
    X_train, y_train, X_val, _ = split
    one_class_val = np.zeros(len(X_val), dtype=int)  # ROC-AUC undefined
    model = train_model("gbm", X_train, y_train, X_val, one_class_val, params={"max_iter": 5})
    assert np.isnan(model.history["val_roc_auc"][0])
    model.save(tmp_path)
    info = json.loads((tmp_path / "trained.json").read_text())
    assert info["history"]["val_roc_auc"][0] is None


def test_boosting_trains_on_gaps_and_on_a_day_nobody_read(split):
    X_train, y_train, X_val, y_val = (a.copy() for a in split)
    X_train[::3, 5] = np.nan
    X_train[:, 10] = np.nan  # scikit-learn alone fails on an empty column
    X_val[:, 10] = np.nan
    model = train_model("gbm", X_train, y_train, X_val, y_val, params=FAST["gbm"])
    scores = model.predict(X_val)
    assert np.all(np.isfinite(scores))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y_val, scores) > 0.8


def test_a_network_with_the_fused_conv_lstm_reloads_in_safe_mode(split, tmp_path):
    from core.models import build, layout_for, resolve_params
    from core.training import TrainedModel

    params = resolve_params("conv_lstm", FAST["conv_lstm"] | {"fused": True})
    network = build("conv_lstm", 60, params)
    model = TrainedModel(
        name="conv_lstm",
        params=params,
        n_days=60,
        layout=layout_for("conv_lstm", 60, params).to_dict(),
        keras_model=network,
    )
    model.save(tmp_path)
    loaded = load_trained(tmp_path)
    kinds = [type(layer).__name__ for layer in loaded.keras_model.layers]
    assert "FusedConvLSTM" in kinds and "ConvLSTM2D" not in kinds
    np.testing.assert_allclose(loaded.predict(split[2]), model.predict(split[2]), atol=1e-6)


def test_conv_lstm_scores_at_inference_as_it_trained_even_after_a_cancel(split):
    # Batch normalisation scores with stored statistics; when they are not those of the
    # training customers (Keras' moving averages after a few batches), the ConvLSTM turned into
    # another function at inference and ranked worse than a coin. A cancel in epoch 3 puts the
    # best epoch's weights back: its statistics must come back with them.
    X_train, y_train, X_val, y_val = split
    recorder = Recorder(cancel_at=(4, 2))
    model = train_model(
        "conv_lstm", *split, params=FAST["conv_lstm"], epochs=5, state=recorder.state
    )
    assert model.stopped and 1 <= model.best_epoch <= 3

    at_inference = model.predict(X_train)
    whole_batch = np.asarray(model.keras_model(X_train, training=True)).reshape(-1)
    np.testing.assert_allclose(at_inference, whole_batch, rtol=0, atol=1e-4)
    assert np.ptp(at_inference) > 0.1  # not a comparison of constants

    val_loss = binary_log_loss(y_val, model.predict(X_val))
    assert val_loss == pytest.approx(min(model.history["val_loss"]), abs=1e-5)
    # what it learnt shows on the validation customers too
    assert model.history["val_loss"][-1] < model.history["val_loss"][0] - 0.1
    assert model.history["val_roc_auc"][model.best_epoch - 1] > 0.85


def test_the_workbenchs_own_layers_reload_in_a_fresh_process(split, tmp_path):
    # a scoring session loads a model without having built one: the layers must register there
    import subprocess
    import sys

    from core.models import build, layout_for, resolve_params
    from core.training import TrainedModel

    for name, extra in (("cnn_lstm", {}), ("conv_lstm", {"fused": True})):
        params = resolve_params(name, FAST[name] | extra)
        model = TrainedModel(
            name=name,
            params=params,
            n_days=60,
            layout=layout_for(name, 60, params).to_dict(),
            keras_model=build(name, 60, params),
        )
        model.save(tmp_path / name)
        np.save(tmp_path / f"{name}.npy", model.predict(split[2]))
    code = (
        "import sys, numpy as np; from pathlib import Path; from core.training import load_trained;"
        "d = Path(sys.argv[1]); X = np.load(d / 'X.npy');"
        "[np.testing.assert_allclose(load_trained(d / n).predict(X), np.load(d / f'{n}.npy'),"
        " atol=1e-6) for n in ('cnn_lstm', 'conv_lstm')]"
    )
    np.save(tmp_path / "X.npy", split[2])
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_normalisation_statistics_pooled_over_chunks_are_those_of_all_rows(monkeypatch):
    import keras

    from core.training import loop

    monkeypatch.setattr(loop, "NORM_ROWS", 10_000)
    rng = np.random.default_rng(5)
    X = rng.random((2500, 6)) * [1, 2, 3, 4, 5, 6]
    X = (X * np.linspace(0.2, 2.0, 2500)[:, None]).astype(np.float32)  # chunks differ in level
    keras.utils.set_random_seed(0)
    readings = keras.Input(shape=(6,))
    dense = keras.layers.Dense(3)
    norm = keras.layers.BatchNormalization()
    model = keras.Model(
        readings, keras.layers.Dense(1, activation="sigmoid")(norm(dense(readings)))
    )
    trainer = loop.DeepTrainer(
        model, X, np.zeros(2500), batch_size=250, learning_rate=1e-3, seed=0, device="/CPU:0"
    )
    trainer.settle_normalisation()

    seen = np.asarray(dense(X), dtype=np.float64)
    np.testing.assert_allclose(np.asarray(norm.moving_mean), seen.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(norm.moving_variance), seen.var(axis=0), rtol=1e-4)
    assert seen.var(axis=0).min() > 0.01  # not a comparison of zeros


def test_fused_adam_makes_keras_adams_updates():
    import keras
    import tensorflow as tf

    from core.training.adam import FusedAdam

    rng = np.random.default_rng(2)
    start = [rng.standard_normal((5, 4)).astype(np.float32), np.zeros(4, np.float32)]
    theirs = [keras.Variable(w) for w in start]
    ours = [keras.Variable(w) for w in start]
    keras_adam = keras.optimizers.Adam(learning_rate=0.01)
    fused = FusedAdam(ours, 0.01)
    for i in range(4):
        grads = [tf.constant(rng.standard_normal(w.shape).astype(np.float32)) for w in start]
        keras_adam.apply(grads, theirs)
        fused.apply(grads)
        if i == 1:  # a plateau halves the rate between steps
            keras_adam.learning_rate = 0.005
            fused.learning_rate.assign(0.005)
    for a, b, w in zip(ours, theirs, start, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)
        assert np.abs(np.asarray(a) - w).max() > 0.01  # the weights did move
