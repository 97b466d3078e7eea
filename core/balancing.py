"""Balancing the classes of the training customers: oversampling thieves, or undersampling.

Only ever apply this to the *training* customers, after the split: synthetic thieves made from
validation or test thieves, or a balanced test set, leak and inflate every figure (the
reference study did this; see DOMAIN.md). Callers (the protocol) split first and pass the
training rows only.

The samplers are imbalanced-learn's. What this module adds:

- the options checked before the library runs, with errors that say what to change
  (``k_neighbors`` too large for the number of thieves, a ratio already reached, ...);
- the result checked after it ran: a Borderline-SMOTE that found no thief "in danger" makes
  nothing, and ADASYN rounds its per-thief counts, so the rows made are compared with the rows
  asked; nothing made raises :class:`~core.errors.TrainingError`, fewer made adds a warning;
- a mask telling synthetic rows from real ones. The over-samplers put the original rows first,
  unchanged and in order, then the new ones; that is verified on every call rather than
  trusted, since the mask is what keeps synthetic customers out of any evaluation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.dataset import NORMAL, THEFT
from core.errors import TrainingError
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

BALANCE_METHODS = {
    "borderline_smote": "Borderline-SMOTE: new thieves between thieves that sit close to normal "
    "customers (the reference method)",
    "smote": "SMOTE: new thieves on the line between a thief and one of its nearest thieves",
    "adasyn": "ADASYN: like SMOTE, with more new thieves where normal customers crowd around",
    "random_over": "Random oversampling: copies of randomly drawn thieves",
    "random_under": "Random undersampling: drops randomly drawn normal customers; makes nothing up",
    "none": "No balancing: train on the customers as they are",
}
VARIANTS = ("borderline-1", "borderline-2")
_OVER = ("borderline_smote", "smote", "adasyn", "random_over")
_TITLE = {
    "borderline_smote": "Borderline-SMOTE",
    "smote": "SMOTE",
    "adasyn": "ADASYN",
    "random_over": "Random oversampling",
    "random_under": "Random undersampling",
    "none": "No balancing",
}
_CLASS_WORD = {THEFT: "theft", NORMAL: "normal"}
_PEOPLE = {THEFT: "thieves", NORMAL: "normal customers"}


@dataclass
class BalanceResult:
    """Rows after balancing: the originals first, in their order, then the synthetic ones.

    ``synthetic`` is True for made-up rows (interpolated or copied). For random undersampling
    nothing is made up: ``kept_rows`` are the indices of the original rows kept, in order, and
    ``X`` / ``y`` are those rows.
    """

    X: np.ndarray
    y: np.ndarray
    synthetic: np.ndarray
    report: dict[str, Any]
    kept_rows: np.ndarray | None = field(default=None)


def oversample(
    X: np.ndarray,
    y: np.ndarray,
    method: str = "borderline_smote",
    *,
    ratio: float = 1.0,
    k_neighbors: int = 5,
    m_neighbors: int = 10,
    variant: str = "borderline-1",
    seed: int = 0,
    state: TaskState | None = None,
) -> BalanceResult:
    """Balance training rows ``X`` (customers x days, finite) with labels ``y`` (0/1).

    ``ratio`` is the wanted minority/majority ratio afterwards (imbalanced-learn's
    ``sampling_strategy``): 1.0 grows the thieves to as many as the normal customers, 0.5 to
    half as many; for ``"random_under"`` it sets how many normal customers are kept.
    ``k_neighbors`` is SMOTE's (ADASYN's ``n_neighbors``), ``m_neighbors`` and ``variant``
    Borderline-SMOTE's. The library call itself cannot be interrupted: a cancel is honoured
    before and after it.
    """
    state = ensure_state(state)
    started = time.monotonic()
    if method not in BALANCE_METHODS:
        raise TrainingError(
            f"unknown balancing method {method!r}.", hint=f"Use one of {list(BALANCE_METHODS)}."
        )
    X, y = _checked_rows(X, y)
    params = {"ratio": float(ratio), "seed": int(seed)}
    if method in ("borderline_smote", "smote", "adasyn"):
        params["k_neighbors"] = int(k_neighbors)
    if method == "borderline_smote":
        params.update(m_neighbors=int(m_neighbors), variant=variant)
    report: dict[str, Any] = {
        "method": method,
        "params": params,
        "before": _counts(y),
        "asked": 0,
        "made": 0,
        "removed": 0,
        "messages": [],
    }

    if method == "none":
        report["after"] = _counts(y)
        report["messages"].append("No balancing: the training customers are used as they are.")
        return BalanceResult(X, y, np.zeros(len(y), dtype=bool), report)

    minority, majority, n_min, n_maj = _classes(y)
    if not 0.0 < ratio <= 1.0:
        raise TrainingError(
            f"a balancing ratio of {ratio} is out of range.",
            hint="The ratio is the number of minority rows per majority row after balancing: "
            "pick a value above 0 and at most 1 (1.0 = as many thieves as normal customers).",
        )
    state.set_progress(0.0)
    state.check()
    if method == "random_under":
        result = _undersample(X, y, ratio, seed, minority, majority, n_min, n_maj, report)
    else:
        asked = int(n_maj * ratio) - n_min
        _check_over_options(method, asked, ratio, n_min, n_maj, minority, len(y), params)
        report["asked"] = asked
        title = _TITLE[method]
        state.set_status(f"{title}: making {asked:,} synthetic {_PEOPLE[minority]}")
        sampler = _sampler(method, {minority: n_min + asked}, params)
        try:
            X_out, y_out = sampler.fit_resample(X, y)
        except (ValueError, RuntimeError) as err:
            raise TrainingError(
                f"{title} could not make synthetic {_PEOPLE[minority]}: {err}",
                hint="Try SMOTE or random oversampling, or lower k_neighbors.",
                details=repr(err),
            ) from err
        state.check()
        synthetic = _synthetic_mask(X, y, np.asarray(X_out), np.asarray(y_out), title)
        made = int(synthetic.sum())
        report["made"] = made
        _judge_made(method, sampler, X, y, minority, made, asked, params, report)
        result = BalanceResult(
            np.asarray(X_out, dtype=X.dtype), np.asarray(y_out, dtype=y.dtype), synthetic, report
        )

    report["after"] = _counts(result.y)
    report["seconds"] = round(time.monotonic() - started, 3)
    log.info(
        "balancing %s %s: %s -> %s in %.2f s",
        method,
        params,
        report["before"],
        report["after"],
        report["seconds"],
    )
    state.set_progress(1.0)
    return result


def synthetic_mean_curves(
    X: np.ndarray, y: np.ndarray, synthetic: np.ndarray
) -> dict[str, np.ndarray | dict[str, int] | None]:
    """Mean per column of real thieves, synthetic thieves and normal customers.

    Keys ``"real_theft"``, ``"synthetic_theft"``, ``"normal"`` hold float64 arrays (None when
    that set is empty); ``"counts"`` holds how many rows each mean rests on. The wizard draws
    the three curves to show whether the synthetic thieves look like the real ones.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    synthetic = np.asarray(synthetic, dtype=bool)
    sets = {
        "real_theft": (y == THEFT) & ~synthetic,
        "synthetic_theft": (y == THEFT) & synthetic,
        "normal": y == NORMAL,
    }
    curves: dict[str, Any] = {}
    for name, rows in sets.items():
        curves[name] = X[rows].mean(axis=0) if rows.any() else None
    curves["counts"] = {name: int(rows.sum()) for name, rows in sets.items()}
    return curves


def _checked_rows(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise TrainingError(f"balancing needs a customers x days matrix, got shape {X.shape}.")
    if y.shape != (X.shape[0],):
        raise TrainingError(f"{len(y)} labels for {X.shape[0]} customers.")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise TrainingError(
            f"{int(bad.sum())} readings of {len(rows)} customers (rows {rows[:5].tolist()}...) "
            "are missing or infinite; balancing needs complete rows.",
            hint="Impute missing readings (the cleaning recipe) before balancing.",
        )
    labels = set(np.unique(y).tolist())
    if not labels <= {NORMAL, THEFT}:
        raise TrainingError(
            f"balancing needs labels 0 (normal) and 1 (theft); found {sorted(labels)}.",
            hint="Leave unlabelled customers out of the training rows.",
        )
    return X, y


def _counts(y: np.ndarray) -> dict[str, int]:
    return {word: int((y == value).sum()) for value, word in _CLASS_WORD.items()}


def _classes(y: np.ndarray) -> tuple[int, int, int, int]:
    """Minority and majority label and their counts; refuses a single class."""
    n_theft, n_normal = int((y == THEFT).sum()), int((y == NORMAL).sum())
    if n_theft == 0 or n_normal == 0:
        missing = "thieves" if n_theft == 0 else "normal customers"
        raise TrainingError(
            f"the training customers include no {missing}, so there is nothing to balance.",
            hint="Label some customers of both classes, or choose 'none'.",
        )
    if n_theft <= n_normal:
        return THEFT, NORMAL, n_theft, n_normal
    return NORMAL, THEFT, n_normal, n_theft


def _check_over_options(method, asked, ratio, n_min, n_maj, minority, n_rows, params):
    people = _PEOPLE[minority]
    title = _TITLE[method]
    if asked <= 0:
        raise TrainingError(
            f"the training customers already have {n_min} {people} per {n_maj} of the other "
            f"class (ratio {n_min / n_maj:.3f}); a ratio of {ratio} asks for no new rows.",
            hint=f"Choose a ratio above {n_min / n_maj:.3f}, or 'none'.",
        )
    k = params.get("k_neighbors")
    if k is not None:
        if k < 1:
            raise TrainingError(f"k_neighbors must be at least 1, not {k}.")
        neighbours_among = n_rows if params.get("variant") == "borderline-2" else n_min
        if k > neighbours_among - 1:
            raise TrainingError(
                f"{title} needs more {people} than k_neighbors: there are {n_min} {people} and "
                f"k_neighbors={k} (each new one is drawn towards one of its {k} nearest "
                f"{people}).",
                hint=(
                    f"Lower k_neighbors to at most {n_min - 1}, or use random oversampling."
                    if n_min > 1
                    else f"With a single one of the {people} only random oversampling can copy it."
                ),
            )
    m = params.get("m_neighbors")
    if m is not None and not 1 <= m <= n_rows - 1:
        raise TrainingError(
            f"m_neighbors={m} does not fit {n_rows} training customers.",
            hint=f"Pick m_neighbors between 1 and {n_rows - 1}.",
        )
    if params.get("variant", VARIANTS[0]) not in VARIANTS:
        raise TrainingError(
            f"unknown Borderline-SMOTE variant {params['variant']!r}.",
            hint=f"Use one of {VARIANTS}.",
        )


def _sampler(method: str, strategy: dict[int, int], params: dict[str, Any]):
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

    seed = params["seed"]
    if method == "borderline_smote":
        return BorderlineSMOTE(
            sampling_strategy=strategy,
            random_state=seed,
            k_neighbors=params["k_neighbors"],
            m_neighbors=params["m_neighbors"],
            kind=params["variant"],
        )
    if method == "smote":
        return SMOTE(
            sampling_strategy=strategy, random_state=seed, k_neighbors=params["k_neighbors"]
        )
    if method == "adasyn":
        return ADASYN(
            sampling_strategy=strategy, random_state=seed, n_neighbors=params["k_neighbors"]
        )
    return RandomOverSampler(sampling_strategy=strategy, random_state=seed)


def _synthetic_mask(X, y, X_out, y_out, title: str) -> np.ndarray:
    """True for the rows after the originals, once it is checked that the originals lead."""
    n = len(y)
    if len(y_out) < n or not (np.array_equal(X_out[:n], X) and np.array_equal(y_out[:n], y)):
        # Not a user error: the library changed how it orders its output, and without the
        # order synthetic rows cannot be told from real ones.
        raise RuntimeError(
            f"{title} did not return the original rows first and unchanged; the synthetic "
            "rows cannot be identified, so the result is refused"
        )
    mask = np.zeros(len(y_out), dtype=bool)
    mask[n:] = True
    return mask


def _judge_made(method, sampler, X, y, minority, made, asked, params, report):
    """Compare what was made with what was asked; raise on nothing, warn on too few."""
    people = _PEOPLE[minority]
    title = _TITLE[method]
    if made == 0:
        if method == "borderline_smote":
            raise TrainingError(_no_danger_message(X, y, minority, params))
        raise TrainingError(
            f"{title} made 0 synthetic {people} of the {asked} asked.",
            hint="Try SMOTE or random oversampling.",
        )
    if made < asked:
        report["messages"].append(
            f"Warning: {title} made {made} synthetic {people}, fewer than the {asked} asked; "
            "the classes stay less balanced than the ratio says."
            + (" Try SMOTE for the full count." if method != "smote" else "")
        )
    elif made > asked:
        report["messages"].append(
            f"{title} made {made} synthetic {people}, {made - asked} more than asked "
            "(it rounds its count per thief)."
        )
    else:
        report["messages"].append(f"{title} made {made} synthetic {people}, as asked.")
    if method == "borderline_smote":
        danger = len(getattr(sampler, "in_danger_indices", {}).get(minority, []))
        report["in_danger"] = danger
        report["messages"].append(
            f"They were drawn from the {danger} of {int((y == minority).sum())} {people} that "
            f"have mostly other-class neighbours (m={params['m_neighbors']})."
        )


def _no_danger_message(X, y, minority, params) -> str:
    """Why Borderline-SMOTE found no thief to grow from, with counts of safe and noise ones."""
    from sklearn.neighbors import NearestNeighbors

    m = params["m_neighbors"]
    rows = np.flatnonzero(y == minority)
    neighbours = NearestNeighbors(n_neighbors=m + 1).fit(X).kneighbors(X[rows])[1][:, 1:]
    other = (y[neighbours] != minority).sum(axis=1)
    noise = int((other == m).sum())
    safe = int((other < m / 2).sum())
    people = _PEOPLE[minority]
    return (
        f"Borderline-SMOTE made 0 synthetic {people}: none of the {len(rows)} {people} has "
        f"mostly other-class neighbours (m={m}): {safe} are surrounded mostly by {people} and "
        f"{noise} only by the other class. Try SMOTE, or raise m_neighbors."
    )


def _undersample(X, y, ratio, seed, minority, majority, n_min, n_maj, report) -> BalanceResult:
    from imblearn.under_sampling import RandomUnderSampler

    keep = int(n_min / ratio)
    if keep >= n_maj:
        raise TrainingError(
            f"random undersampling at ratio {ratio} would keep all {n_maj} "
            f"{_PEOPLE[majority]}: nothing to remove.",
            hint=f"Choose a ratio above {n_min / n_maj:.3f}, or 'none'.",
        )
    sampler = RandomUnderSampler(sampling_strategy={majority: keep}, random_state=seed)
    sampler.fit_resample(X, y)
    kept = np.sort(np.asarray(sampler.sample_indices_))
    removed = len(y) - len(kept)
    report["removed"] = removed
    report["messages"].append(
        f"Random undersampling dropped {removed} of {n_maj} {_PEOPLE[majority]} "
        f"and kept all {n_min} {_PEOPLE[minority]}."
    )
    return BalanceResult(X[kept], y[kept], np.zeros(len(kept), dtype=bool), report, kept)
