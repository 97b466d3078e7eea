"""Scaling of cleaned readings into the range the models are trained on.

- ``"minmax_day"`` (the reference): each day column maps the training customers' lowest
  reading of that day to 0 and their highest to 1. The ranges are learned on the training
  customers only and stored with the model. A high quantile (0.99, say) can take the maximum's
  place, so a few huge readings do not squash every other customer near 0.
- ``"minmax_customer"``: each customer's own lowest reading maps to 0 and highest to 1, so only
  the shape of the curve is left. Nothing is learned.
- ``"none"``: readings pass unchanged.

A constant day column or a constant customer gives 0, never NaN or inf. New customers scaled
with training ranges may fall outside [0, 1]: values under the training minimum are raised to
0, and values above the maximum are kept up to ``clip`` (5 by default, so a customer using up
to five times the training peak keeps its order) and cut there, so that one absurd reading
cannot swamp a model's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.cleaning.outliers import row_quantiles

SCALINGS = ("minmax_day", "minmax_customer", "none")
DEFAULT_CLIP = 5.0


@dataclass
class DayRanges:
    """Per-day-column minimum and range learned on the training customers (float64)."""

    low: np.ndarray
    span: np.ndarray

    @classmethod
    def fit(cls, kwh: np.ndarray, high_quantile: float = 1.0) -> DayRanges:
        """Learn the ranges; NaN readings are ignored and an all-NaN column gets range 0.

        The high end of a column is its maximum, or with ``high_quantile`` below 1 that
        quantile of the column (linear interpolation, as numpy's default).
        """
        values = kwh.astype(np.float64)
        if values.shape[0] == 0:
            return cls(low=np.zeros(values.shape[1]), span=np.zeros(values.shape[1]))
        present = ~np.isnan(values)
        empty = ~present.any(axis=0)
        low = np.where(empty, 0.0, np.where(present, values, np.inf).min(axis=0))
        if high_quantile >= 1.0:
            high = np.where(empty, 0.0, np.where(present, values, -np.inf).max(axis=0))
        else:
            (high,) = row_quantiles(values.T, (float(high_quantile),))
            high = np.where(empty, 0.0, high)
        return cls(low=low, span=high - low)

    def apply(self, kwh: np.ndarray, clip: float = DEFAULT_CLIP) -> np.ndarray:
        if kwh.shape[1] != self.low.shape[0]:
            raise ValueError(f"{kwh.shape[1]} days given, the ranges cover {self.low.shape[0]}")
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = np.where(self.span > 0, (kwh - self.low) / self.span, 0.0)
        return np.clip(scaled, 0.0, clip).astype(np.float32)


def scale_per_customer(kwh: np.ndarray) -> np.ndarray:
    """Each row mapped onto [0, 1] by its own minimum and maximum (NaN ignored)."""
    values = kwh.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(np.isnan(values), np.inf, values).min(axis=1, keepdims=True)
        high = np.where(np.isnan(values), -np.inf, values).max(axis=1, keepdims=True)
        span = high - low
        scaled = np.where(span > 0, (values - low) / span, 0.0)
    scaled[np.isnan(values)] = np.nan
    return scaled.astype(np.float32)
