"""The baseline multilayer perceptron of the reference study.

Two fully connected layers over the whole daily series (Dense 1,034 relu, Dropout 0.5,
Dense 365 relu, Dropout 0.5) and one sigmoid output, trained in batches of 250.
The first layer's width stays 1,034 by default whatever the day count (it is a width, not a
day count); ``first_units`` changes it.
"""

from __future__ import annotations

DEFAULTS = {
    "first_units": 1034,
    "second_units": 365,
    "dropout": 0.5,
    "batch_size": 250,
    "learning_rate": 1e-3,
}


def build(n_days: int, params: dict):
    """A Keras model reading ``(customers, n_days)`` and giving a theft probability."""
    import keras
    from keras import layers

    readings = keras.Input(shape=(n_days,), name="readings")
    x = layers.Dense(int(params["first_units"]), activation="relu")(readings)
    x = layers.Dropout(float(params["dropout"]))(x)
    x = layers.Dense(int(params["second_units"]), activation="relu")(x)
    x = layers.Dropout(float(params["dropout"]))(x)
    theft = layers.Dense(1, activation="sigmoid", name="theft")(x)
    return keras.Model(readings, theft, name="mlp")
