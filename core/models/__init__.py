"""The four theft detectors: three Keras networks from the reference study and a boosting yardstick.

``mlp``, ``cnn_lstm`` and ``conv_lstm`` follow the study's architectures and hyperparameters
(see each module); ``gbm`` is scikit-learn's histogram gradient boosting on the readings plus
per-customer statistics. Every model reads the plain ``(customers, n_days)`` matrix; the
sequence models cut it into steps with the rule in :mod:`core.models.layout`.

Nothing here imports TensorFlow at module import: :func:`build` does, when called.
"""

from __future__ import annotations

from core.errors import TrainingError
from core.models import cnn_lstm, conv_lstm, gbm, mlp
from core.models.layout import SeriesLayout, series_layout

MODEL_NAMES = ("mlp", "cnn_lstm", "conv_lstm", "gbm")
DEEP_MODELS = ("mlp", "cnn_lstm", "conv_lstm")

LABELS = {
    "mlp": "MLP (baseline)",
    "cnn_lstm": "CNN-LSTM",
    "conv_lstm": "ConvLSTM",
    "gbm": "Gradient boosting (yardstick)",
}

_MODULES = {"mlp": mlp, "cnn_lstm": cnn_lstm, "conv_lstm": conv_lstm, "gbm": gbm}

__all__ = [
    "DEEP_MODELS",
    "LABELS",
    "MODEL_NAMES",
    "SeriesLayout",
    "build",
    "default_params",
    "layout_for",
    "resolve_params",
    "series_layout",
]


def _module(name: str):
    if name not in _MODULES:
        raise TrainingError(
            f"Unknown model {name!r}.", hint=f"Choose one of: {', '.join(MODEL_NAMES)}."
        )
    return _MODULES[name]


def default_params(name: str) -> dict:
    """The study's hyperparameters for ``name`` (a fresh dict the caller may change)."""
    return dict(_module(name).DEFAULTS)


def resolve_params(name: str, params: dict | None) -> dict:
    """The defaults overridden by ``params``; an unknown key is refused, not ignored."""
    merged = default_params(name)
    unknown = sorted(set(params or {}) - set(merged))
    if unknown:
        raise TrainingError(
            f"Unknown setting{'s' if len(unknown) > 1 else ''} for {LABELS[name]}: "
            f"{', '.join(unknown)}.",
            hint=f"Known settings: {', '.join(sorted(merged))}.",
        )
    merged.update(params or {})
    return merged


def layout_for(name: str, n_days: int, params: dict) -> SeriesLayout:
    """How ``name`` reads ``n_days`` days; flat models read them all as one step."""
    module = _module(name)
    if hasattr(module, "layout_for"):
        return module.layout_for(n_days, params)
    return SeriesLayout(n_days=int(n_days), steps=1, days_per_step=int(n_days), dropped=0)


def build(name: str, n_days: int, params: dict | None = None):
    """A fresh, untrained Keras model for one of :data:`DEEP_MODELS`."""
    if name not in DEEP_MODELS:
        raise TrainingError(f"{LABELS.get(name, name)} is not a Keras model.")
    return _module(name).build(int(n_days), resolve_params(name, params))
