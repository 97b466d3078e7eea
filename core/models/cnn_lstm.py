"""The CNN-LSTM of the reference study.

The series is cut into steps (11 x 94 days for 1,034 days, see :mod:`core.models.layout`).
Each step goes through the same small convolution stack (Conv1D 64 kernel 3 relu, Conv1D 64
kernel 3 relu, Dropout 0.2, MaxPooling1D, Flatten); an LSTM of 100 units reads the steps in
order, then Dropout 0.2, Dense 100 relu and a sigmoid output. Batches of 64.

The cut happens inside the model (reshape and crop layers), so a saved model takes the plain
``(customers, n_days)`` matrix like every other model.

The study wrapped the per-step stack in ``TimeDistributed``. Keras 3 runs a TimeDistributed
layer as a Python loop over the steps (one small convolution per step, then a stack), which
made the CNN-LSTM the slowest part of training. With ``fold_steps`` (the default) the steps
are folded into the batch instead (``(customers, steps, days) -> (customers * steps, days)``),
the same layers run once on all of them, and the result is unfolded for the LSTM: the same
weights and the same outputs (tested), in far fewer operations. Dropout draws one mask per
value either way. ``fold_steps=False`` builds the study's TimeDistributed form.
"""

from __future__ import annotations

from core.models.layout import SeriesLayout, series_layout

DEFAULTS = {
    "steps": 11,
    "filters": 64,
    "kernel_size": 3,
    "conv_dropout": 0.2,
    "pool_size": 2,
    "lstm_units": 100,
    "dropout": 0.2,
    "dense_units": 100,
    "batch_size": 64,
    "fold_steps": True,
    "unroll": False,
    "learning_rate": 1e-3,
}


def layout_for(n_days: int, params: dict) -> SeriesLayout:
    """Two valid convolutions and one pooling must fit inside a step."""
    kernel = int(params["kernel_size"])
    need = 2 * (kernel - 1) + int(params["pool_size"])
    return series_layout(n_days, int(params["steps"]), min_days_per_step=need)


def build(n_days: int, params: dict):
    """A Keras model reading ``(customers, n_days)`` and giving a theft probability."""
    import keras
    from keras import layers

    cut = layout_for(n_days, params)
    filters, kernel = int(params["filters"]), int(params["kernel_size"])
    per_step = [
        layers.Conv1D(filters, kernel, activation="relu"),
        layers.Conv1D(filters, kernel, activation="relu"),
        layers.Dropout(float(params["conv_dropout"])),
        layers.MaxPooling1D(int(params["pool_size"])),
        layers.Flatten(),
    ]

    readings = keras.Input(shape=(n_days,), name="readings")
    x = layers.Reshape((n_days, 1))(readings)
    if cut.dropped:
        x = layers.Cropping1D((cut.dropped, 0), name="drop_oldest_days")(x)
    x = layers.Reshape((cut.steps, cut.days_per_step, 1), name="steps")(x)
    if params["fold_steps"]:
        layer_classes = step_folding_classes()
        x = layer_classes[0](name="steps_into_batch")(x)
        for layer in per_step:
            x = layer(x)
        x = layer_classes[1](cut.steps, name="batch_into_steps")(x)
    else:
        for layer in per_step:
            x = layers.TimeDistributed(layer)(x)
    x = layers.LSTM(int(params["lstm_units"]), unroll=bool(params["unroll"]))(x)
    x = layers.Dropout(float(params["dropout"]))(x)
    x = layers.Dense(int(params["dense_units"]), activation="relu")(x)
    theft = layers.Dense(1, activation="sigmoid", name="theft")(x)
    return keras.Model(readings, theft, name="cnn_lstm")


_FOLDING = None


def step_folding_classes():
    """``(FoldSteps, UnfoldSteps)``, Keras layers defined and registered on first use.

    ``FoldSteps`` turns ``(batch, steps, ...)`` into ``(batch * steps, ...)``; ``UnfoldSteps``
    turns ``(batch * steps, ...)`` back into ``(batch, steps, ...)``. They hold no weights and
    are registered with Keras, so a saved model loads in safe mode.
    """
    global _FOLDING
    if _FOLDING is not None:
        return _FOLDING

    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="etd")
    class FoldSteps(keras.layers.Layer):
        """``(batch, steps, *rest) -> (batch * steps, *rest)``."""

        def call(self, inputs):
            return ops.reshape(inputs, (-1, *inputs.shape[2:]))

        def compute_output_shape(self, input_shape):
            batch = None if input_shape[0] is None else input_shape[0] * input_shape[1]
            return (batch, *input_shape[2:])

    @keras.saving.register_keras_serializable(package="etd")
    class UnfoldSteps(keras.layers.Layer):
        """``(batch * steps, *rest) -> (batch, steps, *rest)``."""

        def __init__(self, steps, **kwargs):
            super().__init__(**kwargs)
            self.steps = int(steps)

        def call(self, inputs):
            return ops.reshape(inputs, (-1, self.steps, *inputs.shape[1:]))

        def compute_output_shape(self, input_shape):
            batch = None if input_shape[0] is None else input_shape[0] // self.steps
            return (batch, self.steps, *input_shape[1:])

        def get_config(self):
            return {**super().get_config(), "steps": self.steps}

    _FOLDING = (FoldSteps, UnfoldSteps)
    return _FOLDING
