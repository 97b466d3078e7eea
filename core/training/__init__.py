"""Training the theft detectors, and loading them back.

:func:`train_model` trains one model and returns a :class:`TrainedModel`; :func:`load_trained`
reads a saved one. Neither this package nor :mod:`core.models` imports TensorFlow until a
Keras model is actually trained or loaded.

Events sent through ``state.emit`` while a Keras model trains:

``"batch"``
    ``{model, epoch, batch, batches, loss, accuracy}`` after every batch (1-based numbers;
    loss and accuracy of that batch).
``"epoch"``
    ``{model, epoch, epochs, loss, accuracy, val_loss, val_accuracy, val_roc_auc, lr, elapsed,
    remaining, best_epoch}`` after every epoch. ``val_roc_auc`` is NaN when the validation
    customers hold one class only; ``elapsed`` and ``remaining`` are seconds, ``remaining``
    the most the run can still take (early stopping may end it sooner).

Gradient boosting sends the ``"epoch"`` events of its boosting iterations once it has fitted.
"""

from core.training.train import train_model
from core.training.trained import HISTORY_KEYS, TrainedModel, load_trained

__all__ = ["HISTORY_KEYS", "TrainedModel", "load_trained", "train_model"]
