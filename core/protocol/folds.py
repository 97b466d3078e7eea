"""k-fold cross-validation: the honest protocol run once per fold of customers, each fold the
test set once, and the figures summarised as mean ± sd over the folds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from core.dataset import ConsumptionData
from core.errors import TrainingError
from core.evaluation import text_table
from core.protocol.checks import labelled_only
from core.protocol.experiment import run_experiment_on_rows
from core.protocol.outputs import write_json
from core.protocol.results import HONEST_LABEL, ExperimentResult
from core.tasks import TaskState, ensure_state

FOLD_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "kappa", "map_at_100")


@dataclass
class FoldsResult:
    """The honest protocol run ``k`` times, each fold of customers the test set once."""

    folds: list[ExperimentResult]

    def summary(self) -> dict[str, dict]:
        """{model: {metric: {"mean", "sd", "values"}, "folds_done": n}}; sd is the sample sd
        (ddof 1) over the folds where the model ran and the metric is defined."""
        out: dict[str, dict] = {}
        for name in self.folds[0].outcomes:
            done = [f.outcomes[name] for f in self.folds if f.outcomes[name].ok]
            entry: dict[str, Any] = {"folds_done": len(done)}
            for key in FOLD_METRICS:
                values = [o.metrics[key] for o in done if o.metrics.get(key) is not None]
                entry[key] = {
                    "mean": float(np.mean(values)) if values else None,
                    "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                    "values": [float(v) for v in values],
                }
            skipped = [f.outcomes[name].skipped for f in self.folds if f.outcomes[name].skipped]
            if skipped:
                entry["skipped"] = skipped[0]
            out[name] = entry
        return out

    def table(self) -> str:
        """Mean ± sd per model and metric, as text."""
        summary = self.summary()
        head = ["model", "folds", *FOLD_METRICS]
        rows = [head]
        for name, entry in summary.items():
            cells = [name, str(entry["folds_done"])]
            for key in FOLD_METRICS:
                m = entry[key]
                if m["mean"] is None:
                    cells.append("-")
                else:
                    sd = f" ± {m['sd']:.3f}" if m["sd"] is not None else ""
                    cells.append(f"{m['mean']:.3f}{sd}")
            rows.append(cells)
        title = f"{len(self.folds)}-fold cross-validation, {HONEST_LABEL}: mean ± sd over folds"
        return "\n".join([title, *text_table(rows)])


def run_folds(
    data: ConsumptionData,
    *,
    folds: int = 5,
    validation_share: float = 0.2,
    out_dir: str | Path | None = None,
    state: TaskState | None = None,
    **settings,
) -> FoldsResult:
    """``folds`` outer folds (stratified by label): each fold is the test set once, the rest is
    split into training and validation (``validation_share`` of it, stratified) and the honest
    protocol runs on those parts. ``settings`` are :func:`run_experiment`'s (recipe, models,
    balance, epochs, ...); ``protocol`` and ``split`` are not accepted. With ``out_dir`` each
    fold is written to ``out_dir/fold_<i>/`` and the summary to ``out_dir/folds.json``. After a
    stop, the folds not yet started are left out.
    """
    for refused in ("protocol", "split"):
        if refused in settings:
            raise TrainingError(f"Cross-validation sets its own {refused}; do not pass it.")
    state = ensure_state(state)
    if folds < 2:
        raise TrainingError(f"Cross-validation needs at least 2 folds (got {folds}).")
    labelled = labelled_only(data, [])
    seed = int(settings.get("seed", 0))
    chosen = _fold_settings(settings, seed)
    rest_share = 1.0 - 1.0 / folds
    shares = (rest_share * (1 - validation_share), rest_share * validation_share, 1.0 / folds)

    results = []
    for i, rows in enumerate(_fold_rows(labelled.labels, folds, validation_share, seed)):
        if state.cancelled:  # a stop during the previous fold: keep the folds that finished
            break
        state.set_status(f"fold {i + 1} of {folds}")
        fold_out = Path(out_dir) / f"fold_{i + 1}" if out_dir is not None else None
        results.append(
            run_experiment_on_rows(
                labelled,
                rows,
                protocol="honest",
                split=shares,
                out_dir=fold_out,
                state=state.child(i / folds, (i + 1) / folds),
                **chosen,
            )
        )
    result = FoldsResult(results)
    if out_dir is not None:
        write_json(Path(out_dir) / "folds.json", result.summary())
    return result


def _fold_settings(settings: dict, seed: int) -> dict:
    """run_experiment's settings for every fold: the defaults overridden by ``settings``;
    a setting run_experiment does not know is refused."""
    defaults = {
        "recipe": None, "models": ("mlp", "cnn_lstm", "conv_lstm", "gbm"),
        "balance": "borderline_smote", "balance_params": None, "model_params": None,
        "epochs": 400, "patience": 50, "seed": seed, "threshold_rule": "f1",
        "on_model_done": None,
    }  # fmt: skip
    unknown = set(settings) - set(defaults)
    if unknown:
        raise TrainingError(f"Unknown setting(s) for cross-validation: {', '.join(unknown)}.")
    return {**defaults, **settings}


def _fold_rows(
    labels: np.ndarray, folds: int, validation_share: float, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(train, validation, test) sorted row indices per outer fold, stratified by label; made
    one fold at a time, as the loop asks for them."""
    from sklearn.model_selection import StratifiedKFold

    outer = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for rest, test in outer.split(np.zeros(len(labels)), labels):
        train, val = train_test_split(
            rest,
            test_size=validation_share,
            stratify=labels[rest],
            random_state=seed,
            shuffle=True,
        )
        yield np.sort(train), np.sort(val), np.sort(test)
