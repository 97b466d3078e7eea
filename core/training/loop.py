"""The training step of the Keras models.

Keras' own ``fit`` would train the same networks; this loop does the same arithmetic (Adam,
binary cross-entropy on the model's sigmoid output, one update per shuffled batch; Adam runs
as one TensorFlow kernel per weight tensor, :mod:`core.training.adam`) and:

* hands control back to Python after every batch, which is where a cancel is noticed and a
  batch event is sent (Keras 3.15's ``fit`` also checks ``stop_training`` after each batch;
  owning the loop keeps the best-weights restore and the events the same on every exit);
* puts the training matrix on the device once and gathers each batch there, with no
  ``tf.data`` pipeline rebuilt per epoch;
* compiles the step with XLA on a GPU. On a CPU it does not: measured on a 2-core x86 CPU,
  XLA made the MLP 5-9 times slower, the CNN-LSTM 3 times and the ConvLSTM about 90 times,
  and took over a minute to compile. bfloat16 and unrolled recurrences were slower too;
* after every epoch, measures the batch-normalisation statistics on the training rows
  (:meth:`DeepTrainer.settle_normalisation`), so that validation, the kept weights and every
  later score use the network that was trained.

Per batch the loop runs as fast as ``fit`` on a CPU or faster, but never far: the steps are
bound by the arithmetic. The MLP's matrix products and the ConvLSTM's state convolutions run at
70-80% of what this CPU's plain float32 matrix product reaches; Adam as one kernel makes the
MLP about 1.2 times faster than ``fit``. The CNN-LSTM trains about three times faster than
the study's Keras build because its per-step convolutions are folded into the batch
(:mod:`core.models.cnn_lstm`). ``tests/benchmarks/bench_training.py`` prints both sides.
If XLA cannot compile a model on some machine, the loop falls back to the same step without
XLA and logs it.

The loop runs on the caller's thread and keeps every TensorFlow call there: the GUI runs
training on one dedicated worker thread, never on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from core.training.adam import FusedAdam

log = logging.getLogger(__name__)

PREDICT_BATCH = 1024
# training rows measured for the batch-normalisation statistics after each epoch
NORM_ROWS = 2048

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
        self._norm_rng = np.random.default_rng([int(seed), 1])  # leaves the batch order alone
        self._jit = bool(jit_compile)
        with tf.device(device):
            self._X = tf.identity(tf.constant(np.asarray(X, dtype=np.float32)))
            self._y = tf.identity(tf.constant(np.asarray(y, dtype=np.float32).reshape(-1, 1)))
        with tf.device(device):
            self.optimizer = FusedAdam(model.trainable_variables, float(learning_rate))
        self._loss = keras.losses.BinaryCrossentropy()
        self._step = self._make_step(self._jit)
        self._forward = self._make_forward(self._jit)
        self._norms = [
            layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
        ]
        self._norm_inputs = self._make_norm_probe() if self._norms else None

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
            optimizer.apply(grads)
            hits = tf.cast(tf.equal(tf.cast(p > 0.5, tf.float32), yb), tf.float32)
            return loss, tf.reduce_mean(hits)

        return tf.function(step, jit_compile=jit, reduce_retracing=True)

    def _make_forward(self, jit: bool):
        import tensorflow as tf

        model = self.model
        return tf.function(
            lambda x: model(x, training=False), jit_compile=jit, reduce_retracing=True
        )

    def _make_norm_probe(self):
        """Per batch-normalisation layer: (mean, variance, count) of what it normalises."""
        import keras
        import tensorflow as tf

        probe = keras.Model(self.model.inputs, [layer.input for layer in self._norms])

        def moments(x):
            found = probe(x, training=True)
            found = found if isinstance(found, (list, tuple)) else [found]
            out = []
            for layer, values in zip(self._norms, found, strict=True):
                axes = [a for a in range(len(values.shape)) if a != layer.axis % len(values.shape)]
                mean, variance = tf.nn.moments(values, axes=axes)
                count = tf.cast(tf.size(values) // tf.shape(mean)[0], tf.float32)
                out.append((mean, variance, count))
            return out

        return tf.function(moments, reduce_retracing=True)

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
        self.optimizer.learning_rate.assign(float(value))

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

    def settle_normalisation(self) -> None:
        """Set every batch-normalisation layer's inference statistics from the training rows.

        During training each layer normalises with the statistics of the batch; at inference it
        uses moving averages (momentum 0.99, starting from mean 0 and variance 1). Those take
        hundreds of updates to forget their start, and the ConvLSTM's outputs have a variance
        near 1e-5: with a few batches per epoch the network scored validation and test with
        statistics thousands of times off, a different function from the one trained (worse
        than a coin on the demo data). Here the statistics are measured instead, with the
        current weights, on up to :data:`NORM_ROWS` training rows in chunks of equal size, and
        pooled exactly. Within a chunk the network runs as in training: an earlier
        normalisation uses the chunk's own statistics (and a dropout before a normalisation
        would drop; none of the study's networks has one).
        """
        if not self._norms:
            return
        import tensorflow as tf

        rows = np.arange(self.n_rows, dtype=np.int32)
        if self.n_rows > NORM_ROWS:
            rows = np.sort(self._norm_rng.permutation(self.n_rows)[:NORM_ROWS]).astype(np.int32)
        # chunks of equal size: a last chunk of a few rows would normalise with poor statistics
        chunks = np.array_split(rows, -(-len(rows) // PREDICT_BATCH))
        pooled = [[] for _ in self._norms]
        with tf.device(self.device):
            for chunk in chunks:
                measured_all = self._norm_inputs(tf.gather(self._X, chunk))
                for found, measured in zip(pooled, measured_all, strict=True):
                    found.append([np.asarray(m, dtype=np.float64) for m in measured])
        for layer, found in zip(self._norms, pooled, strict=True):
            means = np.stack([f[0] for f in found])
            variances = np.stack([f[1] for f in found])
            weights = np.array([f[2] for f in found])[:, None] / sum(f[2] for f in found)
            mean = (weights * means).sum(axis=0)
            # total variance = mean of the chunk variances + variance of the chunk means
            variance = (weights * (variances + (means - mean) ** 2)).sum(axis=0)
            layer.moving_mean.assign(mean.astype(np.float32))
            layer.moving_variance.assign(variance.astype(np.float32))

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
