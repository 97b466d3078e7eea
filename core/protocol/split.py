"""The stratified three-way split: training, validation and test rows, each with its share of
every stratum."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from core.dataset import ConsumptionData
from core.errors import TrainingError

MIN_PER_STRATUM = 10


def stratified_split(labels: np.ndarray, split: Sequence[float], seed: int):
    """Row indices of train, validation and test, each stratified by label (sorted)."""
    train_share, val_share, test_share = (float(v) for v in split)
    total = train_share + val_share + test_share
    if min(train_share, val_share, test_share) <= 0 or abs(total - 1.0) > 1e-6:
        raise TrainingError(
            f"The split {tuple(split)} must be three positive shares adding up to 1.",
            hint="The reference method uses (0.64, 0.16, 0.20).",
        )
    rows = np.arange(len(labels))
    rest, test = train_test_split(
        rows, test_size=test_share, stratify=labels, random_state=seed, shuffle=True
    )
    train, val = train_test_split(
        rest,
        test_size=val_share / (train_share + val_share),
        stratify=labels[rest],
        random_state=seed,
        shuffle=True,
    )
    return np.sort(train), np.sort(val), np.sort(test)


def split_strata(data: ConsumptionData, recipe) -> np.ndarray:
    """Label x "passes the missing-data filter", or the label alone when a stratum is tiny.

    The filter's verdict depends on each customer's own readings only, so stratifying on it
    learns nothing from the other customers.
    """
    from core.cleaning.missing import missing_profile

    passes = missing_profile(data, recipe.zeros_as_missing).kept(recipe.threshold, recipe.min_days)
    strata = data.labels.astype(np.int64) * 2 + passes
    counts = np.bincount(strata, minlength=4)
    if counts[counts > 0].min() < MIN_PER_STRATUM:
        return data.labels
    return strata
