"""A saved model applied to customers: theft score, rank, percentile and flag for each.

:func:`score` prepares the data with the artifact's own fitted recipe (the imputation donors,
fences and scaler learned on the training customers, never refitted here), then scores every
customer the recipe keeps. Customers the missing-data filter drops are listed as *not
scorable*, with the reason, and get no score.

Columns of the result, one row per customer, most suspicious first, not-scorable ones last:

``customer``    the customer id
``score``       theft score in [0, 1] (NaN when not scorable)
``rank``        1 = most suspicious; ties keep the order of the data file
``percentile``  share of the scorable customers whose score is at most this one's, in percent:
                100 = the most suspicious, and tied scores share one value
``flag``        score >= the artifact's threshold (chosen on validation customers)
``scorable``    False when the preparation dropped the customer
``reason``      why not scorable ("" when scorable)
``label``       the known label (0/1, missing when unknown); only when the data have labels

A data set with another number of days than the model was trained on is refused with
:class:`~core.errors.ArtifactError`: the model would read misplaced days without complaint.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from core.dataset import UNKNOWN, ConsumptionData
from core.evaluation import ranking
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

COLUMNS = ("customer", "score", "rank", "percentile", "flag", "scorable", "reason", "label")


def score(artifact, data: ConsumptionData, state: TaskState | None = None) -> pd.DataFrame:
    """Score ``data`` with ``artifact`` (a :class:`core.artifact.Artifact`); see the module doc.

    ``frame.attrs`` carries ``model``, ``threshold``, ``notes`` (calendar remarks, and a warning
    when the model's figures come from the leaking paper protocol) and
    ``not_scorable`` (the count).
    """
    state = ensure_state(state)
    notes = artifact.check_calendar(data)
    if artifact.metrics.get("leaking") or artifact.protocol.startswith("paper"):
        notes.append(
            f"The model {artifact.name!r} was trained with the paper protocol, which leaks: its "
            "stored test figures are inflated. Its scores still rank these customers."
        )

    state.set_status(f"preparing {data.n_customers:,} customers with the model's recipe")
    prepared = artifact.fitted_recipe.transform(data, state=state.child(0.0, 0.7))
    state.check()

    state.set_status(f"scoring with {artifact.name}")
    kept = np.asarray(prepared.kept, dtype=bool)
    scores = np.full(data.n_customers, np.nan)
    if kept.any():
        scores[kept] = np.asarray(artifact.trained.predict(prepared.X), dtype=np.float64).ravel()
    state.set_progress(0.95)

    frame = rank_scores(data.customer_ids, scores, artifact.threshold)
    reasons = {str(k): str(v) for k, v in prepared.dropped_reasons.items()}
    frame["reason"] = [
        "" if ok else reasons.get(str(c), "dropped by the preparation")
        for c, ok in zip(frame["customer"], frame["scorable"], strict=True)
    ]
    if (data.labels != UNKNOWN).any():
        labels = pd.Series(data.labels, index=data.customer_ids).reindex(frame["customer"])
        known = labels.to_numpy() != UNKNOWN
        frame["label"] = pd.array(np.where(known, labels.to_numpy(), 0), dtype="Int8")
        frame.loc[~known, "label"] = pd.NA
    frame.attrs.update(
        model=artifact.name,
        threshold=artifact.threshold,
        notes=notes,
        not_scorable=int((~kept).sum()),
    )
    log.info(
        "scored %d customers with %s (%d not scorable, %d flagged)",
        int(kept.sum()),
        artifact.name,
        int((~kept).sum()),
        int(frame["flag"].sum()),
    )
    state.set_progress(1.0)
    return frame


def rank_scores(customer_ids, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    """Rank, percentile and flag of theft scores (NaN = not scorable), most suspicious first."""
    ids = np.asarray(customer_ids, dtype=object)
    scores = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(scores)
    rows = np.flatnonzero(ok)

    rank = np.full(len(ids), 0, dtype=np.int64)
    percentile = np.full(len(ids), np.nan)
    if len(rows):
        order = rows[ranking(scores[rows])]
        rank[order] = np.arange(1, len(order) + 1)
        sorted_scores = np.sort(scores[rows])
        at_most = np.searchsorted(sorted_scores, scores[rows], side="right")
        percentile[rows] = 100.0 * at_most / len(rows)

    frame = pd.DataFrame(
        {
            "customer": ids,
            "score": scores,
            "rank": pd.array(np.where(ok, rank, 0), dtype="Int64"),
            "percentile": percentile,
            "flag": pd.array(np.where(ok, scores >= threshold, False), dtype="boolean"),
            "scorable": ok,
            "reason": "",
        }
    )
    frame.loc[~ok, "rank"] = pd.NA
    frame.loc[~ok, "flag"] = pd.NA
    order = np.r_[rows[ranking(scores[rows])] if len(rows) else [], np.flatnonzero(~ok)]
    return frame.iloc[order.astype(int)].reset_index(drop=True)
