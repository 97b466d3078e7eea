"""What an experiment refuses before anything is prepared: unknown models, run lengths that
are not whole numbers, and data with too few labelled thieves or normal customers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.dataset import UNKNOWN, ConsumptionData
from core.errors import TrainingError

MIN_PER_CLASS = 10  # each of the three parts needs a few of each class after stratification


def labelled_only(data: ConsumptionData, warnings: list[str]) -> ConsumptionData:
    """The labelled customers of ``data``; a warning says how many unlabelled ones were left
    out. Refused with advice when either class has fewer than :data:`MIN_PER_CLASS`."""
    unknown = data.labels == UNKNOWN
    if unknown.any():
        warnings.append(
            f"{int(unknown.sum()):,} customers have no label and take no part in the experiment."
        )
        data = data.subset(~unknown)
    n_theft, n_normal = data.theft_count, data.normal_count
    if n_theft + n_normal == 0:
        raise TrainingError(
            f"None of the {int(unknown.sum()):,} customers has a label (0 normal, 1 theft): "
            "training and evaluation need known thieves and normal customers.",
            hint="Give the label column (--label-column, or a FLAG column) or a labels file "
            "(--labels); to rank unlabelled customers, score them with a trained model "
            "('etd score').",
        )
    if n_theft < MIN_PER_CLASS or n_normal < MIN_PER_CLASS:
        raise TrainingError(
            f"The data set has {n_theft:,} thieves and {n_normal:,} normal customers with a label; "
            f"an experiment needs at least {MIN_PER_CLASS} of each, so that training (where "
            "SMOTE needs 6 thieves for its 5 neighbours), validation and test each hold both "
            "classes.",
            hint="Add labelled customers (more inspection outcomes, or a larger data set); with "
            "fewer thieves, train on a larger labelled set and score this one with 'etd score'.",
        )
    return data


def checked_models(models: Sequence[str]) -> list[str]:
    """Known model names, each once, in the order given; refused before any data is prepared."""
    from core.models import MODEL_NAMES

    names = list(dict.fromkeys(str(m).strip() for m in models))
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown or not names:
        raise TrainingError(
            f"Unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
            if unknown
            else "No model chosen.",
            hint=f"Choose from {', '.join(MODEL_NAMES)}.",
        )
    return names


def check_run_lengths(epochs, patience, seed) -> None:
    """Epochs and patience of at least 1 and a seed >= 0, checked before the long preparation."""
    for what, value, least in (("epochs", epochs, 1), ("patience", patience, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise TrainingError(
                f"{what.capitalize()} must be a whole number of at least {least} (got {value!r}).",
                hint="The reference method trains up to 400 epochs with patience 50."
                if what != "seed"
                else "Any whole number from 0 up gives a reproducible run.",
            )
