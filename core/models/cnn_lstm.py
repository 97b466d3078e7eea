"""The CNN-LSTM of the reference study.

The series is cut into steps (11 x 94 days for 1,034 days, see :mod:`core.models.layout`).
Each step goes through the same small convolution stack (TimeDistributed Conv1D 64 kernel 3
relu, Conv1D 64 kernel 3 relu, Dropout 0.2, MaxPooling1D, Flatten); an LSTM of 100 units reads
the steps in order, then Dropout 0.2, Dense 100 relu and a sigmoid output. Batches of 64.

The cut happens inside the model (reshape and crop layers), so a saved model takes the plain
``(customers, n_days)`` matrix like every other model.
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

    readings = keras.Input(shape=(n_days,), name="readings")
    x = layers.Reshape((n_days, 1))(readings)
    if cut.dropped:
        x = layers.Cropping1D((cut.dropped, 0), name="drop_oldest_days")(x)
    x = layers.Reshape((cut.steps, cut.days_per_step, 1), name="steps")(x)
    x = layers.TimeDistributed(layers.Conv1D(filters, kernel, activation="relu"))(x)
    x = layers.TimeDistributed(layers.Conv1D(filters, kernel, activation="relu"))(x)
    x = layers.TimeDistributed(layers.Dropout(float(params["conv_dropout"])))(x)
    x = layers.TimeDistributed(layers.MaxPooling1D(int(params["pool_size"])))(x)
    x = layers.TimeDistributed(layers.Flatten())(x)
    x = layers.LSTM(int(params["lstm_units"]), unroll=bool(params["unroll"]))(x)
    x = layers.Dropout(float(params["dropout"]))(x)
    x = layers.Dense(int(params["dense_units"]), activation="relu")(x)
    theft = layers.Dense(1, activation="sigmoid", name="theft")(x)
    return keras.Model(readings, theft, name="cnn_lstm")
