"""A trained theft detector: its settings, its history, its day count, and how to score with it.

A model remembers how many days it was trained on and refuses a matrix of another width
(Keras itself would often accept it and score nonsense). It is saved as ``model.keras`` (the
Keras native format, loaded back in safe mode) or, for gradient boosting, as JSON plus ``.npz``
tree arrays; ``trained.json`` beside it records name, settings, day count, layout and history.
No file is a pickle.

TensorFlow prediction is not thread-safe, so :meth:`TrainedModel.predict` takes a process-wide
lock; the GUI still scores on its one TensorFlow worker thread.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ArtifactError
from core.models import DEEP_MODELS, LABELS, MODEL_NAMES, SeriesLayout
from core.models.gbm import GbmModel

log = logging.getLogger(__name__)

KERAS_NAME = "model.keras"
INFO_NAME = "trained.json"
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_roc_auc", "lr")

_predict_lock = threading.Lock()


@dataclass
class TrainedModel:
    """The outcome of :func:`core.training.train_model` (or of :func:`load_trained`).

    ``history`` holds one value per epoch (per boosting iteration for ``gbm``) under
    :data:`HISTORY_KEYS`; ``best_epoch`` is the 1-based epoch whose weights were kept (0 when
    training was stopped before one epoch finished); ``stopped`` is True when the user
    cancelled.
    """

    name: str
    params: dict
    n_days: int
    layout: dict
    history: dict = field(default_factory=dict)
    best_epoch: int = 0
    stopped: bool = False
    device: str = "CPU"
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    keras_model: object = field(default=None, repr=False)
    gbm_model: GbmModel | None = field(default=None, repr=False)
    _forward: object = field(default=None, repr=False, compare=False)

    @property
    def series_layout(self) -> SeriesLayout:
        return SeriesLayout.from_dict(self.layout)

    def check_days(self, X: np.ndarray) -> np.ndarray:
        """``X`` as float32 customers x days, or :class:`ArtifactError` if it does not fit."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ArtifactError(
                f"The data must be a customers x days table; got an array of shape {X.shape}."
            )
        if X.shape[1] != self.n_days:
            raise ArtifactError(
                f"This model was trained on {self.n_days:,} days; the data has "
                f"{X.shape[1]:,} days.",
                hint="Score data covering the same number of days, or train a new model on it.",
            )
        return X

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Theft probabilities in [0, 1], one per row of ``X`` (customers x ``n_days``)."""
        X = self.check_days(X)
        if self.gbm_model is not None:
            return self.gbm_model.predict(X)
        if self.name in DEEP_MODELS and not np.all(np.isfinite(X)):
            raise ArtifactError(
                f"The data given to {LABELS[self.name]} has missing or infinite readings.",
                hint="Apply the model's preparation recipe first: it fills the gaps.",
            )
        return self._predict_keras(X.astype(np.float32, copy=False))

    def _predict_keras(self, X: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        from core.training.loop import PREDICT_BATCH

        with _predict_lock:
            if self._forward is None:
                model = self.keras_model
                self._forward = tf.function(lambda x: model(x, training=False))
            out = [
                np.asarray(self._forward(tf.constant(X[i : i + PREDICT_BATCH]))).reshape(-1)
                for i in range(0, len(X), PREDICT_BATCH)
            ]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    # persistence ----------------------------------------------------------------------------
    def describe(self) -> dict:
        """Everything but the weights, as plain JSON (undefined values become null)."""
        history = {k: [_json_number(v) for v in values] for k, values in self.history.items()}
        return {
            "name": self.name,
            "params": self.params,
            "n_days": self.n_days,
            "layout": self.layout,
            "history": history,
            "best_epoch": self.best_epoch,
            "stopped": self.stopped,
            "device": self.device,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }

    def save(self, directory) -> list[Path]:
        """Write the model files and ``trained.json`` into ``directory``; the paths written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.gbm_model is not None:
            paths = self.gbm_model.save(directory)
        else:
            path = directory / KERAS_NAME
            self.keras_model.save(path)
            paths = [path]
        info = directory / INFO_NAME
        info.write_text(json.dumps(self.describe(), indent=2, allow_nan=False), encoding="utf-8")
        log.info("saved %s model (%d days) to %s", self.name, self.n_days, directory)
        return [*paths, info]


def _json_number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _read_info(directory: Path, manifest: dict | None) -> dict:
    info_path = directory / INFO_NAME
    stored = None
    if info_path.exists():
        try:
            stored = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ArtifactError(f"{info_path}: cannot be read ({err}).") from err

    given = None
    if manifest:
        given = manifest.get("trained", manifest)
    if stored is None and given is None:
        raise ArtifactError(f"{directory}: no {INFO_NAME} and no manifest describe the model.")
    if stored is not None and given is not None:
        for key in ("name", "n_days"):
            if key in given and given[key] != stored.get(key):
                raise ArtifactError(
                    f"{directory}: the manifest says {key} = {given[key]!r} but the model files "
                    f"say {stored.get(key)!r}.",
                    hint="The artifact was altered or mixed up; export the model again.",
                )
    info = dict(stored or {})
    info.update({k: v for k, v in (given or {}).items() if k not in info})
    for key in ("name", "n_days"):
        if key not in info:
            raise ArtifactError(f"{directory}: the model description lacks {key!r}.")
    if info["name"] not in MODEL_NAMES:
        raise ArtifactError(
            f"{directory}: unknown model {info['name']!r}.",
            hint=f"This program knows {', '.join(MODEL_NAMES)}.",
        )
    return info


def load_trained(directory, manifest: dict | None = None) -> TrainedModel:
    """Load a model written by :meth:`TrainedModel.save`; Keras models load in safe mode.

    ``manifest`` (optional) is the artifact's description; when it names the model or its
    day count, they must match the files, otherwise :class:`ArtifactError`.
    """
    directory = Path(directory)
    info = _read_info(directory, manifest)
    name, n_days = info["name"], int(info["n_days"])
    layout = info.get("layout") or SeriesLayout(n_days, 1, n_days, 0).to_dict()
    trained = TrainedModel(
        name=name,
        params=info.get("params", {}),
        n_days=n_days,
        layout=layout,
        history=info.get("history", {}),
        best_epoch=int(info.get("best_epoch", 0)),
        stopped=bool(info.get("stopped", False)),
        device=info.get("device", ""),
        seconds=float(info.get("seconds", 0.0)),
        notes=list(info.get("notes", [])),
    )

    if name == "gbm":
        trained.gbm_model = GbmModel.load(directory)
        if trained.gbm_model.n_days != n_days:
            raise ArtifactError(f"{directory}: the tree file and the description disagree.")
        return trained

    path = directory / KERAS_NAME
    if not path.exists():
        raise ArtifactError(f"{path}: the Keras model file is missing.")
    import keras

    from core.models.cnn_lstm import step_folding_classes
    from core.models.conv_lstm import fused_layer_class

    # register the workbench's own layers before Keras reads the file
    fused_layer_class()
    step_folding_classes()
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for damaged or unsafe files
        raise ArtifactError(f"{path}: the Keras model cannot be loaded ({err}).") from err
    width = model.input_shape[-1]
    if width != n_days:
        raise ArtifactError(
            f"{path}: the network reads {width} days but its description says {n_days:,}."
        )
    trained.keras_model = model
    return trained
