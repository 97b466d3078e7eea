"""The training step of the Keras models.

Keras' own ``fit`` would train the same networks; this loop does the same arithmetic (Adam,
binary cross-entropy on the model's sigmoid output, one update per shuffled batch) and:

* hands control back to Python after every batch, which is where a cancel is noticed and a
  batch event is sent (Keras 3.15's ``fit`` also checks ``stop_training`` after each batch;
  owning the loop keeps the best-weights restore and the events the same on every exit);
* puts the training matrix on the device once and gathers each batch there, with no
  ``tf.data`` pipeline rebuilt per epoch;
* compiles the step with XLA on a GPU. On a CPU it does not: measured on a 2-core x86 CPU,
  XLA made the MLP 5-9 times slower, the CNN-LSTM 3 times and the ConvLSTM about 90 times,
  and took over a minute to compile. bfloat16 and unrolled recurrences were slower too.

Per batch it runs as fast as ``fit`` on a CPU, where the steps are bound by the arithmetic
(``tests/benchmarks/bench_training.py`` prints both). If XLA cannot compile a model on some
machine, the loop falls back to the same step without XLA and logs it.

The loop runs on the caller's thread and keeps every TensorFlow call there: the GUI runs
training on one dedicated worker thread, never on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

PREDICT_BATCH = 1024

# on_batch(batch_number, batches, loss, accuracy) -> False to stop after this batch
BatchListener = Callable[[int, int, float, float], bool]


class DeepTrainer:
    """One Keras model, its optimiser and its training data, ready to run epochs."""

    def __init__(self, model, X, y, *, batch_size, learning_rate, seed, device, jit_compile=False):
        import keras
        import tensorflow as tf

        self.model = model
        self.batch_size = int(batch_size)
        self.device = device
        self.n_rows = len(X)
        self._rng = np.random.default_rng(seed)
        self._jit = bool(jit_compile)
        with tf.device(device):
            self._X = tf.identity(tf.constant(np.asarray(X, dtype=np.float32)))
            self._y = tf.identity(tf.constant(np.asarray(y, dtype=np.float32).reshape(-1, 1)))
        self.optimizer = keras.optimizers.Adam(learning_rate=float(learning_rate))
        self.optimizer.build(model.trainable_variables)
        self._loss = keras.losses.BinaryCrossentropy()
        self._step = self._make_step(self._jit)
        self._forward = self._make_forward(self._jit)

    # compiled functions ---------------------------------------------------------------------
    def _make_step(self, jit: bool):
        import tensorflow as tf

        model, optimizer, loss_fn = self.model, self.optimizer, self._loss

        def step(X, y, rows):
            xb = tf.gather(X, rows)
            yb = tf.gather(y, rows)
            with tf.GradientTape() as tape:
                p = model(xb, training=True)
                loss = loss_fn(yb, p)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            hits = tf.cast(tf.equal(tf.cast(p > 0.5, tf.float32), yb), tf.float32)
            return loss, tf.reduce_mean(hits)

        return tf.function(step, jit_compile=jit, reduce_retracing=True)

    def _make_forward(self, jit: bool):
        import tensorflow as tf

        model = self.model
        return tf.function(
            lambda x: model(x, training=False), jit_compile=jit, reduce_retracing=True
        )

    def _fall_back(self, err: Exception) -> None:
        log.warning("XLA could not compile %s (%s); training without XLA", self.model.name, err)
        self._jit = False
        self._step = self._make_step(False)
        self._forward = self._make_forward(False)

    # learning rate -------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.learning_rate.numpy())

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.optimizer.learning_rate = float(value)

    # work ------------------------------------------------------------------------------------
    def epoch_batches(self) -> list[np.ndarray]:
        """A fresh shuffle of the training rows, cut into batches (the last may be short)."""
        order = self._rng.permutation(self.n_rows).astype(np.int32)
        return [order[i : i + self.batch_size] for i in range(0, self.n_rows, self.batch_size)]

    def train_batch(self, rows: np.ndarray) -> tuple[float, float]:
        """One update on the given training rows; (loss, accuracy) of that batch."""
        import tensorflow as tf

        with tf.device(self.device):
            try:
                loss, accuracy = self._step(self._X, self._y, rows)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as err:
                if not self._jit:
                    raise
                self._fall_back(err)
                loss, accuracy = self._step(self._X, self._y, rows)
        return float(loss), float(accuracy)

    def run_epoch(self, on_batch: BatchListener | None = None) -> tuple[float, float, bool]:
        """One pass over the shuffled training rows.

        Returns the epoch's mean loss and accuracy (weighted by batch size) and whether the
        pass was completed; ``on_batch`` returning False ends it after the current batch.
        """
        batches = self.epoch_batches()
        total_loss = total_hits = 0.0
        seen = 0
        for number, rows in enumerate(batches, start=1):
            loss, accuracy = self.train_batch(rows)
            total_loss += loss * len(rows)
            total_hits += accuracy * len(rows)
            seen += len(rows)
            if on_batch is not None and on_batch(number, len(batches), loss, accuracy) is False:
                return total_loss / seen, total_hits / seen, number == len(batches)
        return total_loss / seen, total_hits / seen, True

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Theft probabilities from the model as it stands (inference mode)."""
        import tensorflow as tf

        X = np.asarray(X, dtype=np.float32)
        out = []
        with tf.device(self.device):
            for start in range(0, len(X), PREDICT_BATCH):
                block = tf.constant(X[start : start + PREDICT_BATCH])
                try:
                    out.append(np.asarray(self._forward(block)).reshape(-1))
                except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as err:
                    if not self._jit:
                        raise
                    self._fall_back(err)
                    out.append(np.asarray(self._forward(block)).reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def predict_with(model, X: np.ndarray, device: str = "/CPU:0") -> np.ndarray:
    """Theft probabilities from a loaded Keras model, in batches, without XLA."""
    import tensorflow as tf

    X = np.asarray(X, dtype=np.float32)
    out = []
    with tf.device(device):
        for start in range(0, len(X), PREDICT_BATCH):
            block = tf.constant(X[start : start + PREDICT_BATCH])
            out.append(np.asarray(model(block, training=False)).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def binary_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy with Keras' clipping (1e-7), in float64."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
