"""The experiment protocol: which customers train, which choose, which judge.

:func:`run_experiment` runs one experiment on a labelled data set and returns an
:class:`ExperimentResult`. Two protocols:

``"honest"`` (the default)
    1. Customers are split first, stratified by label: 64% train, 16% validation, 20% test
       (two ``train_test_split`` calls with ``stratify``). The strata are label x "passes the
       missing-data filter" (a per-customer verdict that learns nothing), so each part gets its
       share of scorable thieves even on small data; with fewer than
       :data:`MIN_PER_STRATUM` customers in a stratum, the label alone.
    2. The preparation recipe is fitted on the training customers only (imputation donors,
       outlier fences, scaler) and applied to validation and test with that fitted state. Its
       missing-data filter judges each customer on its own readings, so it drops customers from
       each part independently; dropped test customers are reported as *not scorable* and
       counted in ``not_scorable``, never silently left out of the story.
    3. The oversampler sees the training customers only; validation and test hold real
       customers only.
    4. Each model trains on the training part; early stopping watches validation; the flagging
       threshold is chosen on validation (best F1 by default); the test part is scored once.

``"paper"`` (reproduce the 2021 study)
    The study's order: the recipe is fitted on all customers, everybody is oversampled, then
    the rows (real and synthetic) are split 64/16/20. Synthetic thieves made from test thieves
    sit in training, synthetic thieves sit in validation and test, so every figure is inflated.
    The result says so everywhere: ``leaking=True``, a warning, the comparison title, and a
    ``protocol`` and ``leaking`` field in every file of the run folder (each model's entry of
    ``metrics.json``, ``histories.json`` and ``curves.json``, the top of ``split.json`` and
    ``run.json``, a column of each ``test_scores_<model>.csv``). Each test row records whether
    it is synthetic.

A model that refuses the data (:class:`~core.errors.TrainingError`, e.g. a series too short for
it) is recorded as skipped with its message and the others go on. Too few thieves or normal
customers is refused before anything trains.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from core.dataset import NORMAL, THEFT, UNKNOWN, ConsumptionData
from core.errors import TrainingError
from core.evaluation import (
    check_threshold_rule,
    choose_threshold,
    comparison_table,
    evaluate,
    text_table,
)
from core.tasks import Cancelled, TaskState, _ChildState, ensure_state

log = logging.getLogger(__name__)

PROTOCOLS = ("honest", "paper")
PAPER_LABEL = "paper (leaking: oversampled before the split; synthetic rows in validation and test)"
HONEST_LABEL = "honest (split first; recipe and oversampler fitted on training customers only)"
PAPER_WARNING = (
    "Paper protocol: the data were oversampled before the split, so synthetic thieves made from "
    "test thieves are in the training set and synthetic thieves are in validation and test. "
    "These figures leak and are inflated; compare them with the honest protocol."
)
STOPPED = "stopped by the user"
NOT_RUN_STOPPED = "not run: stopped by the user"
ENDED_BY_USER = "ended by the user before it could be evaluated; the run went on"
STOP_REASONS = (STOPPED, NOT_RUN_STOPPED)
MIN_PER_CLASS = 10  # each of the three parts needs a few of each class after stratification
MIN_PER_STRATUM = 10
FEW_TEST_THIEVES = 10  # below this the test figures are mostly noise: said in a warning

# metrics.json keys per model, in this order (figures the GUI and the reports read)
METRIC_KEYS = (
    "accuracy", "loss", "precision", "recall", "f1", "kappa", "roc_auc", "pr_auc",
    "pr_auc_trapezoid", "pr_auc_definition", "map_at_100", "map_at_200", "base_rate",
    "roc_auc_ci", "pr_auc_ci", "precision_at_k", "recall_at_k", "k_used", "confusion",
    "threshold", "flagged", "n", "n_theft", "n_normal", "undefined",
)  # fmt: skip


@dataclass
class ModelOutcome:
    """What one model gave: the trained model, its test figures and its test scores."""

    name: str
    trained: Any = None  # core.training.TrainedModel
    metrics: dict | None = None  # evaluate() on the test part
    val_metrics: dict | None = None  # evaluate() on the validation part (no bootstrap)
    threshold: float | None = None
    threshold_how: str = ""
    history: dict = field(default_factory=dict)
    best_epoch: int | None = None
    stopped: bool = False
    device: str = ""
    seconds: float = 0.0
    test_customers: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    test_labels: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int8))
    test_scores: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float32))
    test_synthetic: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    artifact_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.metrics is not None

    def test_frame(self) -> pd.DataFrame:
        """Test customers with their label, theft score and whether the row is synthetic."""
        return pd.DataFrame(
            {
                "customer": self.test_customers,
                "label": self.test_labels.astype(int),
                "score": self.test_scores.astype(float),
                "synthetic": self.test_synthetic.astype(bool),
            }
        )

    def summary(self) -> dict:
        """JSON-ready figures of this model for metrics.json."""
        if not self.ok:
            return {"skipped": self.skipped or "no result"}
        out = {key: self.metrics.get(key) for key in METRIC_KEYS}
        out.update(
            threshold_how=self.threshold_how,
            val_f1=(self.val_metrics or {}).get("f1"),
            val_roc_auc=(self.val_metrics or {}).get("roc_auc"),
            best_epoch=self.best_epoch,
            epochs_run=len(self.history.get("loss", [])),
            stopped=self.stopped,
            device=self.device,
            seconds=round(float(self.seconds), 3),
            synthetic_test_rows=int(self.test_synthetic.sum()),
            notes=list(self.notes),
        )
        return out


@dataclass
class ExperimentResult:
    """Everything one experiment produced; :meth:`write` puts it in a run folder."""

    protocol: str
    outcomes: dict[str, ModelOutcome]
    fitted_recipe: Any  # core.recipe.FittedRecipe
    split: dict[str, list[str]]  # real customer ids per part
    not_scorable: dict[str, dict[str, str]]  # part -> customer id -> reason
    warnings: list[str]
    data_summary: dict
    recipe_report: dict
    balance_report: dict
    settings: dict
    calendar: dict  # {"first_day": ISO date, "n_days": int}
    out_dir: Path | None = None

    @property
    def leaking(self) -> bool:
        return self.protocol == "paper"

    @property
    def protocol_label(self) -> str:
        return PAPER_LABEL if self.leaking else HONEST_LABEL

    @property
    def stopped_by_user(self) -> bool:
        """True when a stop was asked: a model ended early or was never started."""
        return any(o.stopped or o.skipped in STOP_REASONS for o in self.outcomes.values())

    def _labelled(self, entry: dict) -> dict:
        """``entry`` with this run's ``protocol`` and ``leaking`` fields added."""
        return {**entry, "protocol": self.protocol_label, "leaking": self.leaking}

    def to_metrics_json(self) -> dict[str, dict]:
        """{model: {accuracy, loss, precision, recall, f1, kappa, roc_auc, pr_auc, ...}}.

        Each entry also carries ``protocol`` and ``leaking``; a skipped model has
        ``{"skipped": reason, ...}``.
        """
        dropped = len(self.not_scorable.get("test", {}))
        return {
            name: {**self._labelled(outcome.summary()), "n_test_not_scorable": dropped}
            for name, outcome in self.outcomes.items()
        }

    def comparison_title(self) -> str:
        n_test = len(self.split.get("test", []))
        title = f"Test results, {self.protocol_label}"
        if self.leaking:
            return f"{title}: LEAKING, figures inflated"
        dropped = len(self.not_scorable.get("test", {}))
        return f"{title}; {n_test - dropped:,} of {n_test:,} test customers scorable"

    def comparison_table(self) -> str:
        results = {
            name: (o.metrics if o.ok else (o.skipped or "no result"))
            for name, o in self.outcomes.items()
        }
        return comparison_table(results, title=self.comparison_title())

    def histories(self) -> dict[str, dict]:
        """{model: history}; the history dicts themselves, as training returned them."""
        return {name: o.history for name, o in self.outcomes.items() if o.ok}

    def curves(self) -> dict[str, dict]:
        return {
            name: {"roc": o.metrics.get("roc_curve"), "pr": o.metrics.get("pr_curve")}
            for name, o in self.outcomes.items()
            if o.ok
        }

    def run_record(self) -> dict:
        """The run as a whole (settings, split sizes, warnings) for run.json and projects."""
        return self._labelled(
            {
                "warnings": list(self.warnings),
                "settings": self.settings,
                "calendar": self.calendar,
                "data": self.data_summary,
                "split_sizes": {part: len(ids) for part, ids in self.split.items()},
                "not_scorable": self.not_scorable,
                "recipe_report": self.recipe_report,
                "balance_report": self.balance_report,
                "models": {
                    name: ("skipped: " + o.skipped) if o.skipped else "ok"
                    for name, o in self.outcomes.items()
                },
            }
        )

    def write(self, out_dir: str | Path) -> Path:
        """metrics.json, histories.json, curves.json, comparison.txt, run.json, split.json,
        test_scores_<model>.csv, and one artifact per trained model under artifacts/<model>/.

        Every JSON entry and CSV row carries the protocol label (see the module doc)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "metrics.json", self.to_metrics_json())
        labelled = {
            "histories.json": self.histories(),
            "curves.json": self.curves(),
        }
        for file_name, per_model in labelled.items():
            entries = {name: self._labelled(entry) for name, entry in per_model.items()}
            _write_json(out / file_name, entries)
        _write_json(out / "run.json", self.run_record())
        _write_json(out / "split.json", self._labelled(self.split))
        (out / "comparison.txt").write_text(self.comparison_table() + "\n", encoding="utf-8")
        for name, outcome in self.outcomes.items():
            if outcome.ok:
                frame = outcome.test_frame().assign(protocol=self.protocol_label)
                frame.to_csv(out / f"test_scores_{name}.csv", index=False)
                if outcome.artifact_dir is None:
                    outcome.artifact_dir = self.save_model(name, out)
        self.out_dir = out
        log.info("experiment written to %s", out)
        return out

    def save_model(self, name: str, out_dir: Path) -> Path:
        from core.artifact import save_artifact

        outcome = self.outcomes[name]
        return save_artifact(
            Path(out_dir) / "artifacts" / name,
            outcome.trained,
            self.fitted_recipe,
            threshold=outcome.threshold,
            metrics=self._labelled(outcome.summary()),
            calendar=self.calendar,
        )


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# the two protocols ----------------------------------------------------------------------------
@dataclass
class _Parts:
    """Arrays the models see, whichever protocol produced them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_ids: np.ndarray
    test_synthetic: np.ndarray
    fitted: Any
    split: dict[str, list[str]]
    not_scorable: dict[str, dict[str, str]]
    recipe_report: dict
    balance_report: dict


def _labelled_only(data: ConsumptionData, warnings: list[str]) -> ConsumptionData:
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


def _stratified_split(labels: np.ndarray, split: Sequence[float], seed: int):
    """Row indices of train, validation and test, each stratified by label."""
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


def _oversample(X, y, balance, balance_params, seed, state):
    if balance in (None, "none"):
        return X, y, np.zeros(len(y), dtype=bool), {"method": "none"}
    from core.balancing import oversample

    try:
        result = oversample(X, y, method=balance, seed=seed, state=state, **(balance_params or {}))
    except TypeError as err:  # an option the method does not have
        if "unexpected keyword" not in str(err):
            raise
        raise TrainingError(
            f"Oversampling with {balance!r} does not take the settings {balance_params} ({err}).",
            hint="See the Balance page or core.balancing.oversample for each method's settings.",
        ) from err
    except TrainingError as err:
        raise TrainingError(
            f"Oversampling the {int((y == THEFT).sum())} thieves and {int((y == NORMAL).sum())} "
            f"normal customers of the training part failed: {err.message}",
            hint=(err.hint + " " if err.hint else "")
            + "On the command line: --balance-param k_neighbors=K or --balance random_over.",
        ) from err
    report = dict(result.report)
    report.setdefault("method", balance)
    return result.X, result.y, np.asarray(result.synthetic, dtype=bool), report


def _split_strata(data: ConsumptionData, recipe) -> np.ndarray:
    """Label x "passes the missing-data filter", or the label alone when a stratum is tiny."""
    from core.cleaning.missing import missing_profile

    passes = missing_profile(data, recipe.zeros_as_missing).kept(recipe.threshold, recipe.min_days)
    strata = data.labels.astype(np.int64) * 2 + passes
    counts = np.bincount(strata, minlength=4)
    if counts[counts > 0].min() < MIN_PER_STRATUM:
        return data.labels
    return strata


def _honest_parts(data, recipe, split, balance, balance_params, seed, state, rows=None) -> _Parts:
    if rows is None:
        rows = _stratified_split(_split_strata(data, recipe), split, seed)
    train_rows, val_rows, test_rows = rows
    parts = {
        "train": data.subset(train_rows),
        "validation": data.subset(val_rows),
        "test": data.subset(test_rows),
    }
    state.set_status("fitting the preparation on the training customers")
    fitted, prepared_train = recipe.fit_transform(parts["train"], state=state.child(0.0, 0.6))
    state.check()
    state.set_status("preparing validation and test customers")
    prepared_val = fitted.transform(parts["validation"], state=state.child(0.6, 0.75))
    prepared_test = fitted.transform(parts["test"], state=state.child(0.75, 0.9))
    prepared = {"train": prepared_train, "validation": prepared_val, "test": prepared_test}

    not_scorable = {name: dict(p.dropped_reasons) for name, p in prepared.items()}
    for name, p in prepared.items():
        labels = p.data.labels
        if (labels == THEFT).sum() == 0 or (labels == NORMAL).sum() == 0:
            raise TrainingError(
                f"After the missing-data filter the {name} part keeps {(labels == THEFT).sum()} "
                f"thieves and {(labels == NORMAL).sum()} normal customers of "
                f"{parts[name].n_customers}: it needs both classes.",
                hint="Loosen the missing-data threshold or use a larger data set.",
            )

    state.set_status("oversampling the training customers")
    y_train = prepared_train.data.labels.astype(np.int8)
    X_train, y_train, synthetic, balance_report = _oversample(
        prepared_train.X, y_train, balance, balance_params, seed, state.child(0.9, 1.0)
    )
    report = dict(prepared_train.report)
    report["kept"] = {name: int(p.X.shape[0]) for name, p in prepared.items()}
    report["dropped"] = {name: len(reasons) for name, reasons in not_scorable.items()}
    return _Parts(
        X_train=X_train,
        y_train=y_train,
        X_val=prepared_val.X,
        y_val=prepared_val.data.labels.astype(np.int8),
        X_test=prepared_test.X,
        y_test=prepared_test.data.labels.astype(np.int8),
        test_ids=np.asarray(prepared_test.data.customer_ids, dtype=object),
        test_synthetic=np.zeros(prepared_test.X.shape[0], dtype=bool),
        fitted=fitted,
        split={name: [str(c) for c in part.customer_ids] for name, part in parts.items()},
        not_scorable=not_scorable,
        recipe_report=report,
        balance_report={**balance_report, "synthetic_in_training": int(synthetic.sum())},
    )


def _paper_parts(data, recipe, split, balance, balance_params, seed, state) -> _Parts:
    state.set_status("paper protocol: fitting the preparation on all customers")
    fitted, prepared = recipe.fit_transform(data, state=state.child(0.0, 0.8))
    state.check()
    state.set_status("paper protocol: oversampling all customers before the split")
    y_all = prepared.data.labels.astype(np.int8)
    X, y, synthetic, balance_report = _oversample(
        prepared.X, y_all, balance, balance_params, seed, state.child(0.8, 0.95)
    )
    real_ids = np.asarray(prepared.data.customer_ids, dtype=object)
    n_made = int(synthetic.sum())
    if len(y) == len(real_ids) + n_made:  # originals first, in order, then the made-up rows
        made = np.array([f"synthetic-{i:06d}" for i in range(n_made)], dtype=object)
        ids = np.concatenate([real_ids, made])
    else:  # undersampling removed rows: which customer each row is no longer known
        ids = np.array([f"row-{i:06d}" for i in range(len(y))], dtype=object)
    train, val, test = _stratified_split(y, split, seed)
    return _Parts(
        X_train=X[train],
        y_train=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[test],
        y_test=y[test],
        test_ids=ids[test],
        test_synthetic=synthetic[test],
        fitted=fitted,
        split={
            "train": [str(c) for c in ids[train]],
            "validation": [str(c) for c in ids[val]],
            "test": [str(c) for c in ids[test]],
        },
        not_scorable={"all": dict(prepared.dropped_reasons)},
        recipe_report=dict(prepared.report),
        balance_report={
            **balance_report,
            "synthetic_in_training": int(synthetic[train].sum()),
            "synthetic_in_validation": int(synthetic[val].sum()),
            "synthetic_in_test": int(synthetic[test].sum()),
        },
    )


# one model ------------------------------------------------------------------------------------
def _run_model(name, parts: _Parts, *, params, epochs, patience, seed, threshold_rule, state):
    from core.training import train_model

    outcome = ModelOutcome(name=name)
    started = time.monotonic()
    try:
        trained = train_model(
            name,
            parts.X_train,
            parts.y_train,
            parts.X_val,
            parts.y_val,
            params=params,
            epochs=epochs,
            patience=patience,
            seed=seed,
            state=state,
        )
    except TrainingError as err:
        outcome.skipped = str(err)
        outcome.seconds = time.monotonic() - started
        log.warning("model %s skipped: %s", name, err)
        return outcome

    outcome.trained = trained
    described = trained.describe()  # history with undefined values as None, JSON-ready
    outcome.history = described["history"]
    outcome.best_epoch = trained.best_epoch
    outcome.stopped = bool(trained.stopped)
    outcome.device = str(trained.device)
    outcome.notes.extend(str(n) for n in trained.notes)
    if outcome.stopped and not any("stopped" in n.lower() for n in outcome.notes):
        outcome.notes.append("training stopped by the user; best weights so far evaluated")

    state.set_status(f"{name}: choosing the threshold on validation, scoring the test set")
    val_scores = np.asarray(trained.predict(parts.X_val), dtype=np.float64).ravel()
    threshold, how = choose_threshold(
        parts.y_val, val_scores, threshold_rule, n_test=len(parts.y_test)
    )
    outcome.threshold, outcome.threshold_how = threshold, how
    outcome.val_metrics = evaluate(parts.y_val, val_scores, threshold, n_boot=0)

    test_scores = np.asarray(trained.predict(parts.X_test), dtype=np.float64).ravel()
    outcome.metrics = evaluate(parts.y_test, test_scores, threshold, seed=seed)
    outcome.test_customers = parts.test_ids
    outcome.test_labels = parts.y_test
    outcome.test_scores = test_scores.astype(np.float32)
    outcome.test_synthetic = parts.test_synthetic
    outcome.seconds = time.monotonic() - started
    log.info(
        "model %s: test ROC-AUC %s, PR-AUC %s, threshold %.4f (%s), %.1f s",
        name,
        outcome.metrics["roc_auc"],
        outcome.metrics["pr_auc"],
        threshold,
        how,
        outcome.seconds,
    )
    return outcome


# the experiment -------------------------------------------------------------------------------
def run_experiment(
    data: ConsumptionData,
    *,
    recipe=None,
    models: Sequence[str] = ("mlp", "cnn_lstm", "conv_lstm", "gbm"),
    protocol: str = "honest",
    split: Sequence[float] = (0.64, 0.16, 0.20),
    balance: str | None = "borderline_smote",
    balance_params: dict | None = None,
    model_params: dict[str, dict] | None = None,
    epochs: int = 400,
    patience: int = 50,
    seed: int = 0,
    threshold_rule: str = "f1",
    out_dir: str | Path | None = None,
    state: TaskState | None = None,
    on_model_done: Callable[[ModelOutcome], None] | None = None,
    skip: threading.Event | None = None,
) -> ExperimentResult:
    """Split, prepare, balance, train every model in ``models`` and evaluate on test once.

    ``recipe`` defaults to the reference method (:class:`core.recipe.Recipe`). ``model_params``
    maps a model name to settings overriding its defaults. ``threshold_rule`` is ``"f1"``,
    ``"budget:K"`` or a number (see :func:`core.evaluation.choose_threshold`). With ``out_dir``
    the run folder is written (see :meth:`ExperimentResult.write`), each artifact as soon as its
    model is done. ``on_model_done`` is called with each :class:`ModelOutcome` as it finishes,
    skipped ones included. A stop asked during training ends that model with its best weights
    so far; the models not yet started are then recorded as skipped. Setting ``skip`` (an
    event) ends only the model now training, with its best weights so far, like a stop; once
    that model is evaluated the event is cleared and the run goes on with the next model.
    """
    return _experiment(
        data,
        None,
        recipe=recipe,
        models=models,
        protocol=protocol,
        split=split,
        balance=balance,
        balance_params=balance_params,
        model_params=model_params,
        epochs=epochs,
        patience=patience,
        seed=seed,
        threshold_rule=threshold_rule,
        out_dir=out_dir,
        state=state,
        on_model_done=on_model_done,
        skip=skip,
    )


def _experiment(
    data, rows, *, recipe, models, protocol, split, balance, balance_params, model_params,
    epochs, patience, seed, threshold_rule, out_dir, state, on_model_done, skip=None,
) -> ExperimentResult:  # fmt: skip
    """run_experiment; ``rows`` (train, validation, test row indices) replaces the split."""
    from core.recipe import Recipe

    state = ensure_state(state)
    if protocol not in PROTOCOLS:
        raise TrainingError(f"Unknown protocol {protocol!r}.", hint="Use 'honest' or 'paper'.")
    threshold_rule = check_threshold_rule(threshold_rule)
    models = checked_models(models)
    check_run_lengths(epochs, patience, seed)
    recipe = recipe if recipe is not None else Recipe()
    warnings: list[str] = []
    if protocol == "paper":
        warnings.append(PAPER_WARNING)

    data = _labelled_only(data, warnings)
    log.info(
        "experiment: protocol %s, %d customers x %d days, models %s, epochs %d, seed %d",
        protocol, data.n_customers, data.n_days, models, epochs, seed,
    )  # fmt: skip
    part_state = state.child(0.0, 0.15)
    if protocol == "paper":
        parts = _paper_parts(data, recipe, split, balance, balance_params, seed, part_state)
    else:
        parts = _honest_parts(
            data, recipe, split, balance, balance_params, seed, part_state, rows=rows
        )
    warnings.extend(_test_set_warnings(parts))

    result = ExperimentResult(
        protocol=protocol,
        outcomes={},
        fitted_recipe=parts.fitted,
        split=parts.split,
        not_scorable=parts.not_scorable,
        warnings=warnings,
        data_summary=data.summary(),
        recipe_report=parts.recipe_report,
        balance_report=parts.balance_report,
        settings={
            "models": models,
            "protocol": protocol,
            "split": [float(v) for v in split],
            "balance": balance or "none",
            "balance_params": dict(balance_params or {}),
            "model_params": dict(model_params or {}),
            "epochs": int(epochs),
            "patience": int(patience),
            "seed": int(seed),
            "threshold_rule": threshold_rule,
            "recipe": recipe.to_dict(),
        },
        calendar={"first_day": data.days[0].date().isoformat(), "n_days": int(data.n_days)},
    )

    try:
        _train_models(
            result,
            parts,
            model_params=model_params or {},
            epochs=epochs,
            patience=patience,
            seed=seed,
            threshold_rule=threshold_rule,
            out_dir=out_dir,
            state=state.child(0.15, 1.0),
            on_model_done=on_model_done,
            skip=skip,
        )
    except BaseException:  # an engine bug or a second Ctrl+C: keep what finished, then fail
        if out_dir is not None and any(o.ok for o in result.outcomes.values()):
            warnings.append("The run ended early; only the models listed here finished.")
            result.write(out_dir)
        raise

    if not any(o.ok for o in result.outcomes.values()):
        reasons = "; ".join(f"{n}: {o.skipped}" for n, o in result.outcomes.items())
        warnings.append(f"No model could be trained ({reasons}).")
    if out_dir is not None:
        result.write(out_dir)
    state.set_progress(1.0)
    state.set_status("experiment done")
    return result


def _test_set_warnings(parts: _Parts) -> list[str]:
    out = []
    if len(parts.y_test) and parts.test_synthetic.any():
        out.append(
            f"{int(parts.test_synthetic.sum()):,} of {len(parts.y_test):,} test rows are synthetic."
        )
    test_thieves = int((parts.y_test == THEFT).sum())
    if test_thieves < FEW_TEST_THIEVES:
        out.append(
            f"Only {test_thieves} thieves among the {len(parts.y_test):,} scorable test customers: "
            "every test figure is very uncertain (see the 95% intervals); use more customers."
        )
    dropped_test = len(parts.not_scorable.get("test", {}))
    if dropped_test:
        out.append(
            f"{dropped_test:,} of {len(parts.split['test']):,} test customers are not scorable "
            "(too few readings for the missing-data filter); the test figures cover the rest."
        )
    return out


def _train_models(
    result: ExperimentResult, parts: _Parts, *, model_params, epochs, patience, seed,
    threshold_rule, out_dir, state, on_model_done, skip,
) -> None:  # fmt: skip
    """Each model of ``result.settings["models"]`` in turn, into ``result.outcomes``; after a
    stop, the models not yet started are recorded as not run (see run_experiment for skip)."""
    models = result.settings["models"]
    span = 1.0 / len(models)
    for i, name in enumerate(models):
        if state.cancelled:
            result.outcomes[name] = ModelOutcome(name=name, skipped=NOT_RUN_STOPPED)
            continue
        state.set_status(f"training {name} ({i + 1} of {len(models)})")
        if skip is not None:
            model_state = _SkippableState(state, i * span, (i + 1) * span, skip)
        else:
            model_state = state.child(i * span, (i + 1) * span)
        try:
            outcome = _run_model(
                name,
                parts,
                params=model_params.get(name),
                epochs=epochs,
                patience=patience,
                seed=seed,
                threshold_rule=threshold_rule,
                state=model_state,
            )
        except Cancelled:
            outcome = ModelOutcome(name=name, skipped=STOPPED if state.cancelled else ENDED_BY_USER)
        if skip is not None and skip.is_set() and not state.cancelled:
            skip.clear()
            outcome.notes.append("ended by the user; the run went on with the next model")
        result.outcomes[name] = outcome
        if outcome.ok and out_dir is not None:
            outcome.artifact_dir = result.save_model(name, Path(out_dir))
        if on_model_done is not None:
            on_model_done(outcome)


class _EitherFlag:
    """Set when the run's stop flag or the skip event is set; setting it stops the run."""

    def __init__(self, stop: threading.Event, skip: threading.Event):
        self._stop, self._skip = stop, skip

    def is_set(self) -> bool:
        return self._stop.is_set() or self._skip.is_set()

    def set(self) -> None:
        self._stop.set()


class _SkippableState(_ChildState):
    """The task state of one model: it also reads as cancelled while ``skip`` is set, so that
    training ends that model (best weights kept) and the run can go on."""

    def __init__(self, parent: TaskState, start: float, end: float, skip: threading.Event):
        super().__init__(parent, start, end)
        self._skip = skip

    @property
    def _cancel(self):
        return _EitherFlag(self._parent._cancel, self._skip)


# k-fold cross-validation ----------------------------------------------------------------------
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
    from sklearn.model_selection import StratifiedKFold

    for refused in ("protocol", "split"):
        if refused in settings:
            raise TrainingError(f"Cross-validation sets its own {refused}; do not pass it.")
    state = ensure_state(state)
    if folds < 2:
        raise TrainingError(f"Cross-validation needs at least 2 folds (got {folds}).")
    warnings: list[str] = []
    labelled = _labelled_only(data, warnings)
    seed = int(settings.get("seed", 0))
    outer = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    results = []
    defaults = {
        "recipe": None, "models": ("mlp", "cnn_lstm", "conv_lstm", "gbm"),
        "balance": "borderline_smote", "balance_params": None, "model_params": None,
        "epochs": 400, "patience": 50, "seed": seed, "threshold_rule": "f1",
        "on_model_done": None,
    }  # fmt: skip
    unknown = set(settings) - set(defaults)
    if unknown:
        raise TrainingError(f"Unknown setting(s) for cross-validation: {', '.join(unknown)}.")
    chosen = {**defaults, **settings}
    rest_share = 1.0 - 1.0 / folds
    shares = (rest_share * (1 - validation_share), rest_share * validation_share, 1.0 / folds)
    for i, (rest, test) in enumerate(outer.split(np.zeros(labelled.n_customers), labelled.labels)):
        if state.cancelled:  # a stop during the previous fold: keep the folds that finished
            break
        state.set_status(f"fold {i + 1} of {folds}")
        train, val = train_test_split(
            rest,
            test_size=validation_share,
            stratify=labelled.labels[rest],
            random_state=seed,
            shuffle=True,
        )
        fold_out = Path(out_dir) / f"fold_{i + 1}" if out_dir is not None else None
        results.append(
            _experiment(
                labelled,
                (np.sort(train), np.sort(val), np.sort(test)),
                protocol="honest",
                split=shares,
                out_dir=fold_out,
                state=state.child(i / folds, (i + 1) / folds),
                **chosen,
            )
        )
    result = FoldsResult(results)
    if out_dir is not None:
        _write_json(Path(out_dir) / "folds.json", result.summary())
    return result
