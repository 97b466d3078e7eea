"""Adam as one TensorFlow kernel per weight tensor.

Keras 3 writes Adam's update as a dozen element-wise operations per weight tensor, each a
pass over memory (the moments, their corrections, the step). The MLP's and the CNN-LSTM's
first layers hold over a million weights each, so at the study's batch sizes those passes
took a fifth to a third of a training step on a 2-core CPU. TensorFlow's own
``ResourceApplyAdam`` kernel makes the same update in one pass:

``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
``w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``,

with Keras' defaults (b1 0.9, b2 0.999, eps 1e-7), the formula Keras uses. The results agree
with ``keras.optimizers.Adam`` to float rounding (tested).
"""

from __future__ import annotations


class FusedAdam:
    """Adam over ``variables`` (Keras or TensorFlow variables); call :meth:`apply` in a step."""

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        import tensorflow as tf

        self.variables = list(variables)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False, dtype=tf.float32)
        self.iterations = tf.Variable(0, trainable=False, dtype=tf.int64)
        self._moments = [
            (
                tf.Variable(tf.zeros(v.shape, tf.float32), trainable=False),
                tf.Variable(tf.zeros(v.shape, tf.float32), trainable=False),
            )
            for v in self.variables
        ]

    def apply(self, gradients) -> None:
        """One update of every variable from its gradient (inside a ``tf.function``)."""
        import tensorflow as tf

        t = tf.cast(self.iterations + 1, tf.float32)
        beta_1, beta_2 = tf.constant(self.beta_1), tf.constant(self.beta_2)
        for variable, (m, v), g in zip(self.variables, self._moments, gradients, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=_handle(variable),
                m=m.handle,
                v=v.handle,
                beta1_power=tf.pow(beta_1, t),
                beta2_power=tf.pow(beta_2, t),
                lr=self.learning_rate,
                beta1=beta_1,
                beta2=beta_2,
                epsilon=tf.constant(self.epsilon),
                grad=tf.cast(g, tf.float32),
            )
        self.iterations.assign_add(1)


def _handle(variable):
    # a Keras 3 variable on the TensorFlow backend wraps a tf.Variable in ``.value``
    inner = getattr(variable, "value", variable)
    return inner.handle
