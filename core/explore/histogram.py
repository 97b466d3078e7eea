"""Histograms of daily readings, built so that one huge reading cannot flatten the chart.

SGCC holds a few readings above 10,000 kWh among millions of single-digit ones; linear bins up
to the maximum put nearly everything in the first bar. Two remedies, either or both:

- ``clip_percentile`` (99.5 by default): bins span up to that percentile; readings above it are
  counted in ``above`` rather than drawn;
- ``log_bins``: bins of equal width on a log scale. Zero readings have no place on that scale
  and are counted in ``zeros`` instead.

For ``"both"`` the two classes share the same bins, so their bars can be laid over each other
(counts differ in scale between classes; ``density`` gives comparable heights).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from core.dataset import ConsumptionData
from core.errors import EtdError
from core.explore.groups import CHUNK_ROWS, ExploreResult, Group, select_groups
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Histogram(ExploreResult):
    """Counts of daily readings per bin; ``edges`` has one more entry than ``counts``."""

    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    readings: int = 0  # readings present in the group, before any was set aside
    above: int = 0  # readings above the clip value, not in any bin
    zeros: int = 0  # zero readings left out of log bins
    below: int = 0  # readings under the first edge (negative readings with log bins)
    clip_value: float | None = None
    log_bins: bool = False

    @property
    def density(self) -> np.ndarray:
        """Counts as a share of the group's readings per kWh, comparable between classes."""
        widths = np.diff(self.edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts / (max(self.readings, 1) * widths)


def consumption_histogram(
    data: ConsumptionData,
    group: str = "both",
    *,
    bins: int = 60,
    clip_percentile: float | None = 99.5,
    log_bins: bool = False,
    state: TaskState | None = None,
) -> Histogram | dict[str, Histogram]:
    """Histogram of every daily reading present in the group (missing readings ignored).

    ``clip_percentile=None`` bins up to the largest reading. The clip value is taken over the
    selected customers together (both classes for ``"both"``).
    """
    state = ensure_state(state)
    if bins < 1:
        raise EtdError(f"a histogram needs at least one bin, not {bins}.", hint="Use 60.")
    if clip_percentile is not None and not 0.0 < clip_percentile <= 100.0:
        raise EtdError(
            f"the clip percentile must lie in (0, 100], not {clip_percentile}.",
            hint="Use 99.5, or None for no clipping.",
        )
    groups = select_groups(data, group)

    values = {}
    for i, g in enumerate(groups):
        share = state.child(0.8 * i / len(groups), 0.8 * (i + 1) / len(groups))
        values[g.key] = _readings(data.kwh, g, share)
    everything = np.concatenate(list(values.values()))
    state.set_status("choosing the bins")
    edges, clip_value = _edges(everything, bins, clip_percentile, log_bins)
    state.check()

    results = {}
    for g in groups:
        results[g.key] = _count(values[g.key], g, edges, clip_value, clip_percentile, log_bins)
    state.set_progress(1.0)
    if group == "both":
        return results
    return results[groups[0].key]


def _readings(kwh: np.ndarray, g: Group, state: TaskState) -> np.ndarray:
    """The group's readings present, as one flat float32 array."""
    parts = []
    for begin in range(0, len(g.rows), CHUNK_ROWS):
        state.check()
        block = kwh[g.rows[begin : begin + CHUNK_ROWS]]
        parts.append(block[~np.isnan(block)])
        state.set_progress(min(1.0, (begin + CHUNK_ROWS) / len(g.rows)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)


def _edges(values: np.ndarray, bins: int, clip_percentile, log_bins: bool):
    """Bin edges for all the selected readings, and the clip value (None without clipping)."""
    if not len(values):
        return None, None
    clip_value = None
    top = float(values.max())
    if clip_percentile is not None and clip_percentile < 100.0:
        clip_value = float(np.percentile(values, clip_percentile))
        top = clip_value
    if log_bins:
        positive = values[(values > 0) & (values <= top)]
        if not len(positive):
            return None, clip_value
        low = float(positive.min())
        high = top if top > low else low * 10.0  # all readings equal: one decade of bins
        return np.geomspace(low, high, bins + 1), clip_value
    low = min(0.0, float(values.min()))
    if top <= low:
        top = low + 1.0
    return np.linspace(low, top, bins + 1), clip_value


def _count(values, g: Group, edges, clip_value, clip_percentile, log_bins: bool) -> Histogram:
    base = {"group": g.key, "label": g.label, "log_bins": log_bins, "clip_value": clip_value}
    if g.is_empty:
        return Histogram(**base, defined=False, reason=g.empty_reason())
    who = "this customer has" if g.is_customer else f"the {g.label} have"
    if not len(values):
        return Histogram(**base, defined=False, reason=f"{who} no readings to count")
    if edges is None:
        reason = f"{who} no positive readings, so there is nothing to put on log bins"
        return Histogram(**base, defined=False, reason=reason, readings=len(values))

    above = int((values > edges[-1]).sum())
    zeros = int((values == 0).sum()) if log_bins else 0
    below = int((values < edges[0]).sum()) - zeros
    counts, _ = np.histogram(values, bins=edges)
    notes = []
    if above:
        notes.append(
            f"{above} reading(s) above {edges[-1]:.1f} kWh are not drawn"
            + (f" (the {clip_percentile:g}th percentile)" if clip_value is not None else "")
        )
    if zeros:
        notes.append(f"{zeros} zero reading(s) have no place on log bins and are not drawn")
    if below:
        notes.append(f"{below} reading(s) below {edges[0]:.3g} kWh are not drawn")
    return Histogram(
        **base,
        notes=notes,
        edges=edges,
        counts=counts.astype(np.int64),
        readings=len(values),
        above=above,
        zeros=zeros,
        below=below,
    )
