"""Train one theft detector on prepared training customers, watching validation customers.

Keras models: Adam and binary cross-entropy, early stopping on the validation loss (patience
50 by default), the learning-rate plateau schedule where the model asks for it (ConvLSTM),
batch-normalisation statistics measured on the training rows after every epoch (see
:meth:`~core.training.loop.DeepTrainer.settle_normalisation`), and the weights of the best
validation epoch, those statistics included, restored however training ends: early stop, the
last epoch, or a user's cancel. A cancel is noticed after the current batch; it ends training
without an exception and marks ``stopped``. When it comes before the first epoch is done there
is no best epoch yet, and the model keeps its current weights (``best_epoch == 0``).

Seeds: ``keras.utils.set_random_seed(seed)`` before the model is built (weights, dropout) and
a numpy generator for the batch order, so the same seed on the same machine repeats a run.
TensorFlow's global op determinism is not switched on: it is process-wide and slows some
kernels; on a CPU the runs repeat without it.

Gradient boosting fits in one scikit-learn call (seconds): a cancel is honoured before and
after it, not during. Its per-iteration history is replayed as epoch events afterwards.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from core.errors import TrainingError
from core.models import DEEP_MODELS, LABELS, build, layout_for, resolve_params
from core.models import gbm as gbm_module
from core.tasks import TaskState, ensure_state
from core.training.device import choose_device
from core.training.loop import DeepTrainer, binary_log_loss
from core.training.trained import HISTORY_KEYS, TrainedModel

log = logging.getLogger(__name__)

# Settings read by the loop rather than by the model builders; accepted for every Keras model.
LOOP_SETTINGS = {
    "plateau_factor": None,
    "plateau_patience": None,
    "min_learning_rate": 0.0,
    "plateau_min_delta": 1e-4,
    # XLA: "auto" compiles the step on a GPU only. Measured on a 2-core x86 CPU, XLA made the
    # MLP 5-9x slower and the CNN-LSTM 3x slower, and took over a minute to compile.
    "jit_compile": "auto",
}


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2 or not np.all(np.isfinite(p)):
        return math.nan
    return float(roc_auc_score(y, p))


def _check_inputs(name, X_train, y_train, X_val, y_val):
    X_train, X_val = np.asarray(X_train), np.asarray(X_val)
    y_train, y_val = np.asarray(y_train).reshape(-1), np.asarray(y_val).reshape(-1)
    for what, X, y in (("training", X_train, y_train), ("validation", X_val, y_val)):
        if X.ndim != 2 or len(X) == 0:
            raise TrainingError(f"The {what} data must be a non-empty customers x days table.")
        if len(y) != len(X):
            raise TrainingError(f"The {what} data has {len(X):,} customers but {len(y):,} labels.")
        if not np.isin(y, (0, 1)).all():
            raise TrainingError(f"The {what} labels must be 0 (normal) or 1 (theft) only.")
        if name in DEEP_MODELS and not np.all(np.isfinite(X)):
            raise TrainingError(
                f"The {what} data for {LABELS[name]} has missing or infinite readings.",
                hint="Impute the gaps in the preparation recipe first.",
            )
    if X_val.shape[1] != X_train.shape[1]:
        raise TrainingError(
            f"The training data has {X_train.shape[1]:,} days but the validation data "
            f"{X_val.shape[1]:,}."
        )
    if len(np.unique(y_train)) < 2:
        raise TrainingError(
            "The training customers are all of one class.",
            hint="A detector needs both normal customers and known thieves to learn from.",
        )
    return X_train, y_train.astype(np.float32), X_val, y_val.astype(np.float32)


def train_model(
    name: str,
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    params: dict | None = None,
    epochs: int = 400,
    patience: int = 50,
    seed: int = 0,
    state: TaskState | None = None,
) -> TrainedModel:
    """Train ``name`` (one of :data:`core.models.MODEL_NAMES`) and return it with its history.

    ``X_*`` are prepared readings (customers x days, finite for the Keras models), ``y_*`` are
    0/1 labels. Emits ``"batch"`` and ``"epoch"`` events through ``state`` (see the module
    :mod:`core.training` for their keys) and moves ``state``'s progress from 0 to 1.
    """
    state = ensure_state(state)
    if int(epochs) < 1 or int(patience) < 1:
        raise TrainingError(
            f"Epochs and patience must be at least 1 (got {epochs} and {patience})."
        )
    X_train, y_train, X_val, y_val = _check_inputs(name, X_train, y_train, X_val, y_val)
    if name == "gbm":
        return _train_gbm(X_train, y_train, X_val, y_val, params, epochs, seed, state)
    if name not in DEEP_MODELS:
        resolve_params(name, params)  # raises the "unknown model" error
    return _train_deep(
        name, X_train, y_train, X_val, y_val, params, int(epochs), int(patience), seed, state
    )


def _split_params(name: str, params: dict | None) -> tuple[dict, dict]:
    """(model settings, loop settings); loop settings are accepted for every Keras model."""
    given = dict(params or {})
    defaults = resolve_params(name, None)
    for_model = {k: v for k, v in given.items() if k not in LOOP_SETTINGS or k in defaults}
    merged = resolve_params(name, for_model)
    loop = {**LOOP_SETTINGS, **{k: v for k, v in given.items() if k in LOOP_SETTINGS}}
    loop.update({k: merged[k] for k in LOOP_SETTINGS if k in merged})
    return merged, loop


def _use_xla(setting, device: str) -> bool:
    if setting == "auto":
        return device.upper().startswith("/GPU")
    return bool(setting)


def _train_deep(name, X_train, y_train, X_val, y_val, params, epochs, patience, seed, state):
    import keras

    merged, loop = _split_params(name, params)
    n_days = X_train.shape[1]
    cut = layout_for(name, n_days, merged)
    notes = [cut.note] if cut.note else []
    device, device_name = choose_device()
    state.set_status(f"Training {LABELS[name]} on {device_name}")
    log.info(
        "training %s: %d customers x %d days, %d validation, layout %s, params %s, on %s",
        name,
        len(X_train),
        n_days,
        len(X_val),
        cut.to_dict(),
        merged,
        device_name,
    )

    started = time.monotonic()
    keras.utils.set_random_seed(int(seed))
    model = build(name, n_days, merged)
    trainer = DeepTrainer(
        model,
        X_train,
        y_train,
        batch_size=merged["batch_size"],
        learning_rate=merged["learning_rate"],
        seed=seed,
        device=device,
        jit_compile=_use_xla(loop["jit_compile"], device),
    )

    history = {k: [] for k in HISTORY_KEYS}
    best_loss, best_epoch, best_weights = math.inf, 0, None
    plateau_best, plateau_wait = math.inf, 0
    stopped = False

    for epoch in range(1, epochs + 1):

        def on_batch(number, batches, loss, accuracy, epoch=epoch):
            state.emit(
                "batch",
                {
                    "model": name,
                    "epoch": epoch,
                    "batch": number,
                    "batches": batches,
                    "loss": loss,
                    "accuracy": accuracy,
                },
            )
            state.set_progress((epoch - 1 + number / batches) / epochs)
            return not state.cancelled

        loss, accuracy, finished = trainer.run_epoch(on_batch)
        if not finished:
            stopped = True
            break
        if not math.isfinite(loss):
            if best_weights is None:
                raise TrainingError(
                    f"{LABELS[name]} diverged in its first epoch (the loss became undefined).",
                    hint="Lower the learning rate, or check that the readings are scaled.",
                )
            notes.append(f"The loss became undefined at epoch {epoch}; training ended there.")
            break
        trainer.settle_normalisation()

        p_val = trainer.predict(X_val)
        val_loss = binary_log_loss(y_val, p_val)
        val_accuracy = float(np.mean((p_val > 0.5) == (y_val > 0.5)))
        lr = trainer.learning_rate
        for key, value in zip(
            HISTORY_KEYS,
            (loss, accuracy, val_loss, val_accuracy, _roc_auc(y_val, p_val), lr),
            strict=True,
        ):
            history[key].append(value)

        if val_loss < best_loss:
            best_loss, best_epoch, best_weights = val_loss, epoch, model.get_weights()
        if loop["plateau_patience"]:
            if val_loss < plateau_best - loop["plateau_min_delta"]:
                plateau_best, plateau_wait = val_loss, 0
            else:
                plateau_wait += 1
                if plateau_wait >= loop["plateau_patience"] and lr > loop["min_learning_rate"]:
                    trainer.learning_rate = max(
                        lr * loop["plateau_factor"], loop["min_learning_rate"]
                    )
                    plateau_wait = 0
                    log.info("%s: learning rate %.3g -> %.3g", name, lr, trainer.learning_rate)

        elapsed = time.monotonic() - started
        left = min(epochs - epoch, patience - (epoch - best_epoch))
        state.emit(
            "epoch",
            {
                "model": name,
                "epoch": epoch,
                "epochs": epochs,
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "val_roc_auc": history["val_roc_auc"][-1],
                "lr": lr,
                "elapsed": elapsed,
                "remaining": max(0, left) * elapsed / epoch,
                "best_epoch": best_epoch,
            },
        )
        state.set_progress(epoch / epochs)
        if state.cancelled:
            stopped = True
            break
        if epoch - best_epoch >= patience:
            log.info("%s: early stop at epoch %d, best %d", name, epoch, best_epoch)
            break

    if best_weights is not None:
        model.set_weights(best_weights)
    else:
        trainer.settle_normalisation()  # stopped in the first epoch: score with measured ones
    if stopped:
        notes.append(
            f"Stopped by the user after {len(history['loss'])} complete epochs; "
            + (
                f"weights of epoch {best_epoch} kept."
                if best_epoch
                else "no epoch completed, the weights are those at the moment of the stop."
            )
        )
    seconds = time.monotonic() - started
    state.set_progress(1.0)
    return TrainedModel(
        name=name,
        params={**merged, **loop},
        n_days=n_days,
        layout=cut.to_dict(),
        history=history,
        best_epoch=best_epoch,
        stopped=stopped,
        device=device_name,
        seconds=seconds,
        notes=notes,
        keras_model=model,
    )


def _train_gbm(X_train, y_train, X_val, y_val, params, epochs, seed, state):
    merged = resolve_params("gbm", params)
    n_days = X_train.shape[1]
    state.set_status(f"Training {LABELS['gbm']}")
    if state.cancelled:
        return _cancelled_gbm(merged, n_days, y_train)

    started = time.monotonic()
    F_train = gbm_module.customer_features(X_train, merged)
    F_val = gbm_module.customer_features(X_val, merged)
    log.info("training gbm: %d customers x %d features, params %s", *F_train.shape, merged)
    estimator = gbm_module.fit_estimator(F_train, y_train, F_val, y_val, merged, seed)
    state.set_progress(0.8)

    everything = gbm_module.GbmModel.from_estimator(estimator, n_days, merged)
    history = _gbm_history(everything, estimator, F_train, y_train, F_val, y_val, seed)
    val_losses = history["val_loss"]
    best = int(np.argmin(val_losses)) + 1 if val_losses else 0
    model = gbm_module.GbmModel.from_estimator(estimator, n_days, merged, keep=best)

    seconds = time.monotonic() - started
    elapsed_per = seconds / max(1, len(val_losses))
    for i in range(len(val_losses)):
        state.emit(
            "epoch",
            {
                "model": "gbm",
                "epoch": i + 1,
                "epochs": int(merged["max_iter"]),
                **{
                    k: history[k][i]
                    for k in ("loss", "accuracy", "val_loss", "val_accuracy", "val_roc_auc", "lr")
                },
                "elapsed": elapsed_per * (i + 1),
                "remaining": 0.0,
                "best_epoch": best,
            },
        )
    state.set_progress(1.0)
    log.info("gbm: %d iterations, best %d, %.1f s", len(val_losses), best, seconds)
    return TrainedModel(
        name="gbm",
        params=merged,
        n_days=n_days,
        layout=layout_for("gbm", n_days, merged).to_dict(),
        history=history,
        best_epoch=best,
        stopped=state.cancelled,
        device="CPU (scikit-learn)",
        seconds=seconds,
        notes=[f"{best} of {len(val_losses)} boosting iterations kept (best validation loss)."],
        gbm_model=model,
    )


def _gbm_history(model, estimator, F_train, y_train, F_val, y_val, seed) -> dict:
    """Per-iteration curves from the cumulative tree sums (train curves on <= 5,000 rows)."""
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    rows = rng.choice(len(F_train), size=min(5000, len(F_train)), replace=False)
    curves = {}
    for part, F, y in (("train", F_train[rows], y_train[rows]), ("val", F_val, y_val)):
        staged = expit(model.baseline + np.cumsum(model.leaf_values(F), axis=1))
        curves[part] = (staged, y)
    history = {k: [] for k in HISTORY_KEYS}
    for i in range(model.n_trees):
        p_train, y_t = curves["train"][0][:, i], curves["train"][1]
        p_val, y_v = curves["val"][0][:, i], curves["val"][1]
        history["loss"].append(binary_log_loss(y_t, p_train))
        history["accuracy"].append(float(np.mean((p_train > 0.5) == (y_t > 0.5))))
        history["val_loss"].append(binary_log_loss(y_v, p_val))
        history["val_accuracy"].append(float(np.mean((p_val > 0.5) == (y_v > 0.5))))
        history["val_roc_auc"].append(_roc_auc(y_v, p_val))
        history["lr"].append(float(estimator.learning_rate))
    return history


def _cancelled_gbm(merged: dict, n_days: int, y_train: np.ndarray) -> TrainedModel:
    """Stopped before the fit: the constant model that predicts the training base rate."""
    rate = float(np.clip(np.mean(y_train), 1e-6, 1 - 1e-6))
    empty = {k: np.zeros(0, dtype=np.int64) for k in ("feature", "left", "right", "roots")}
    empty.update(
        threshold=np.zeros(0),
        value=np.zeros(0),
        missing_left=np.zeros(0, bool),
        is_leaf=np.zeros(0, bool),
    )
    constant = gbm_module.GbmModel(n_days, merged, math.log(rate / (1 - rate)), empty)
    return TrainedModel(
        name="gbm",
        params=merged,
        n_days=n_days,
        layout=layout_for("gbm", n_days, merged).to_dict(),
        history={k: [] for k in HISTORY_KEYS},
        best_epoch=0,
        stopped=True,
        device="CPU (scikit-learn)",
        seconds=0.0,
        notes=["Stopped by the user before boosting started: the model predicts the base rate."],
        gbm_model=constant,
    )
