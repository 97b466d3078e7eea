"""How a customer's daily series becomes the steps the sequence models read.

The reference study cut 1,034 days into 11 steps of 94 days. The product accepts any length
with one rule:

* ``steps`` defaults to 11 and ``days_per_step = n_days // steps``;
* the oldest ``n_days - steps * days_per_step`` days are **dropped** (the most recent days say
  the most about a customer today, and padding would feed made-up zeros). 1,034 days give
  11 x 94 with nothing dropped; 1,035 days give 11 x 94 with the first day dropped;
* a step must hold at least ``min_days_per_step`` days (the convolutions need room for their
  kernels). When ``n_days // steps`` is smaller, the rule uses **fewer steps**
  (``steps = n_days // min_days_per_step``) and says so in :attr:`SeriesLayout.note`: 26 days
  give 4 steps of 6 days with the oldest 2 dropped;
* fewer than two steps is refused with :class:`~core.errors.TrainingError`: a sequence model
  needs a sequence.

The layout is stored with a trained model, and a model refuses data of another day count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from core.errors import TrainingError

DEFAULT_STEPS = 11


@dataclass(frozen=True)
class SeriesLayout:
    """The cut of ``n_days`` readings into ``steps`` x ``days_per_step`` (oldest days dropped)."""

    n_days: int
    steps: int
    days_per_step: int
    dropped: int
    note: str = ""

    @property
    def used_days(self) -> int:
        return self.steps * self.days_per_step

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SeriesLayout:
        return cls(
            n_days=int(values["n_days"]),
            steps=int(values["steps"]),
            days_per_step=int(values["days_per_step"]),
            dropped=int(values["dropped"]),
            note=str(values.get("note", "")),
        )


def series_layout(
    n_days: int, steps: int = DEFAULT_STEPS, min_days_per_step: int = 6
) -> SeriesLayout:
    """The documented cut of ``n_days`` into steps (see the module text for the rule).

    Raises :class:`TrainingError` when the series is too short for two steps of
    ``min_days_per_step`` days.
    """
    n_days = int(n_days)
    steps = int(steps)
    min_days_per_step = max(1, int(min_days_per_step))
    if steps < 1:
        raise TrainingError(f"The number of steps must be at least 1 (got {steps}).")

    note = ""
    if n_days // steps < min_days_per_step:
        fewer = n_days // min_days_per_step
        if fewer < 2:
            raise TrainingError(
                f"The series has {n_days:,} days: too short for a sequence model, which needs "
                f"at least 2 steps of {min_days_per_step} days ({2 * min_days_per_step} days).",
                hint="Use the MLP or the gradient-boosting model, or import a longer period.",
            )
        note = (
            f"{n_days:,} days are too few for {steps} steps of at least {min_days_per_step} "
            f"days; using {fewer} steps instead."
        )
        steps = fewer

    days_per_step = n_days // steps
    dropped = n_days - steps * days_per_step
    if dropped:
        extra = f"the oldest {dropped} day{'s' if dropped > 1 else ''} dropped"
        if note:
            note = f"{note[:-1]}; {steps} x {days_per_step} days, {extra}."
        else:
            note = f"{steps} x {days_per_step} days, {extra}."
    return SeriesLayout(n_days, steps, days_per_step, dropped, note)
