"""The ConvLSTM of the reference study.

The series is cut into steps (11 x 94 days for 1,034 days, see :mod:`core.models.layout`) and
read as a sequence of one-row images ``(steps, 1, days_per_step, 1)``: ConvLSTM2D 64 filters
kernel (1, 3) relu, BatchNormalization, Flatten, Dense 200 relu, BatchNormalization and a
sigmoid output. Batches of 250; the learning rate is halved after 20 epochs without a better
validation loss, down to 1e-4.

Batch normalisation scores with stored statistics; the training loop measures them on the
training customers after every epoch (:meth:`core.training.loop.DeepTrainer.settle_normalisation`)
rather than trusting Keras' moving averages, which after a few dozen batches were still
thousands of times off the variance of the ConvLSTM's outputs (about 1e-5).

``fused=True`` swaps Keras' ConvLSTM2D for :func:`fused_layer_class`, the same cell computed
with fewer, larger convolutions and no state convolution at the first step (equal outputs,
tested). On a 2-core x86 CPU it used 3-10% less processor time per sample but ran slower by
the clock (it keeps the two cores less busy), so Keras' own layer stays the default.
"""

from __future__ import annotations

import numpy as np

from core.models.layout import SeriesLayout, series_layout

DEFAULTS = {
    "steps": 11,
    "filters": 64,
    "kernel_size": 3,
    "dense_units": 200,
    "batch_size": 250,
    "fused": False,
    "unroll": False,
    "learning_rate": 1e-3,
    "plateau_factor": 0.5,
    "plateau_patience": 20,
    "min_learning_rate": 1e-4,
}


def layout_for(n_days: int, params: dict) -> SeriesLayout:
    """One valid convolution must fit inside a step."""
    return series_layout(n_days, int(params["steps"]), min_days_per_step=int(params["kernel_size"]))


def build(n_days: int, params: dict):
    """A Keras model reading ``(customers, n_days)`` and giving a theft probability."""
    import keras
    from keras import layers

    cut = layout_for(n_days, params)

    readings = keras.Input(shape=(n_days,), name="readings")
    x = layers.Reshape((n_days, 1))(readings)
    if cut.dropped:
        x = layers.Cropping1D((cut.dropped, 0), name="drop_oldest_days")(x)
    x = layers.Reshape((cut.steps, 1, cut.days_per_step, 1), name="steps")(x)
    if params["fused"]:
        x = fused_layer_class()(int(params["filters"]), int(params["kernel_size"]))(x)
    else:
        x = layers.ConvLSTM2D(
            int(params["filters"]),
            (1, int(params["kernel_size"])),
            activation="relu",
            unroll=bool(params["unroll"]),
        )(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(int(params["dense_units"]), activation="relu")(x)
    x = layers.BatchNormalization()(x)
    theft = layers.Dense(1, activation="sigmoid", name="theft")(x)
    return keras.Model(readings, theft, name="conv_lstm")


_FUSED_CLASS = None


def fused_layer_class():
    """The Keras layer class of the fused ConvLSTM (defined and registered on first use).

    Keras' ConvLSTM2D splits its kernels per gate and runs eight convolutions per step (four on
    the input, four on the state). This layer computes exactly the same cell with two: the
    input convolution of every step at once, before the recurrence, and one state
    convolution per step for all four gates. Its weights have ConvLSTM2D's shapes, gate order
    (input, forget, candidate, output), initialisers and unit forget bias, so a network built
    with it is the study's ConvLSTM. It is registered with Keras, so a
    saved model loads in safe mode.
    """
    global _FUSED_CLASS
    if _FUSED_CLASS is not None:
        return _FUSED_CLASS

    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="etd")
    class FusedConvLSTM(keras.layers.Layer):
        """ConvLSTM over one-row images ``(batch, steps, 1, width, channels)``; last state."""

        def __init__(self, filters, kernel_width=3, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.filters = int(filters)
            self.kernel_width = int(kernel_width)
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            channels, gates = input_shape[-1], 4 * self.filters
            self.kernel = self.add_weight(
                name="kernel",
                shape=(1, self.kernel_width, channels, gates),
                initializer="glorot_uniform",
            )
            self.recurrent_kernel = self.add_weight(
                name="recurrent_kernel",
                shape=(1, self.kernel_width, self.filters, gates),
                initializer="orthogonal",
            )
            self.bias = self.add_weight(name="bias", shape=(gates,), initializer="zeros")
            forget = np.zeros(gates, dtype="float32")
            forget[self.filters : 2 * self.filters] = 1.0  # unit forget bias, as ConvLSTM2D
            self.bias.assign(forget)

        def call(self, inputs):
            steps, width, channels = inputs.shape[1], inputs.shape[3], inputs.shape[4]
            out_width = width - self.kernel_width + 1
            every_step = ops.reshape(inputs, (-1, 1, width, channels))
            x = ops.conv(every_step, self.kernel, padding="valid") + self.bias
            x = ops.reshape(x, (-1, steps, 1, out_width, 4 * self.filters))
            # unstack rather than index: the gradient of one unstack is one stack, whereas each
            # x[:, t] would send back a zero-filled copy of the whole tensor
            first, *later = ops.unstack(x, num=steps, axis=1)
            # the state starts at zero, so the first step needs no state convolution (Keras
            # convolves the zeros and adds them; the sums are the same)
            i, _, g, o = ops.split(first, 4, axis=-1)
            c = ops.sigmoid(i) * self.activation(g)
            h = ops.sigmoid(o) * self.activation(c)
            for x_t in later:
                z = x_t + ops.conv(h, self.recurrent_kernel, padding="same")
                i, f, g, o = ops.split(z, 4, axis=-1)
                c = ops.sigmoid(f) * c + ops.sigmoid(i) * self.activation(g)
                h = ops.sigmoid(o) * self.activation(c)
            return h

        def compute_output_shape(self, input_shape):
            width = input_shape[3] - self.kernel_width + 1
            return (input_shape[0], 1, width, self.filters)

        def get_config(self):
            config = super().get_config()
            config.update(
                filters=self.filters,
                kernel_width=self.kernel_width,
                activation=keras.activations.serialize(self.activation),
            )
            return config

    _FUSED_CLASS = FusedConvLSTM
    return FusedConvLSTM
