"""One experiment: check the settings, prepare the parts with the chosen protocol, then train,
threshold and test each model in turn (see :mod:`core.protocol` for the two protocols)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.dataset import THEFT, ConsumptionData
from core.errors import TrainingError
from core.evaluation import check_threshold_rule, choose_threshold, evaluate
from core.protocol.checks import check_run_lengths, checked_models, labelled_only
from core.protocol.parts import Parts, honest_parts, paper_parts
from core.protocol.results import (
    ENDED_BY_USER,
    NOT_RUN_STOPPED,
    PAPER_WARNING,
    PROTOCOLS,
    STOPPED,
    ExperimentResult,
    ModelOutcome,
)
from core.tasks import Cancelled, TaskState, ensure_state

log = logging.getLogger(__name__)

FEW_TEST_THIEVES = 10  # below this the test figures are mostly noise: said in a warning


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
    return run_experiment_on_rows(
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


def run_experiment_on_rows(
    data, rows, *, recipe, models, protocol, split, balance, balance_params, model_params,
    epochs, patience, seed, threshold_rule, out_dir, state, on_model_done, skip=None,
) -> ExperimentResult:  # fmt: skip
    """:func:`run_experiment`; ``rows`` (train, validation, test row indices of the labelled
    customers) replaces the split when given (cross-validation passes its folds)."""
    from core.recipe import Recipe

    state = ensure_state(state)
    if protocol not in PROTOCOLS:
        raise TrainingError(f"Unknown protocol {protocol!r}.", hint="Use 'honest' or 'paper'.")
    threshold_rule = check_threshold_rule(threshold_rule)
    models = checked_models(models)
    check_run_lengths(epochs, patience, seed)
    recipe = recipe if recipe is not None else Recipe()
    warnings: list[str] = [PAPER_WARNING] if protocol == "paper" else []

    data = labelled_only(data, warnings)
    log.info(
        "experiment: protocol %s, %d customers x %d days, models %s, epochs %d, seed %d",
        protocol, data.n_customers, data.n_days, models, epochs, seed,
    )  # fmt: skip
    part_state = state.child(0.0, 0.15)
    if protocol == "paper":
        parts = paper_parts(data, recipe, split, balance, balance_params, seed, part_state)
    else:
        parts = honest_parts(
            data, recipe, split, balance, balance_params, seed, part_state, rows=rows
        )
    warnings.extend(_test_set_warnings(parts))

    settings = {
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
    }
    result = _empty_result(data, parts, protocol, warnings, settings)
    _train_and_write(
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
    state.set_progress(1.0)
    state.set_status("experiment done")
    return result


def _empty_result(data, parts: Parts, protocol, warnings, settings) -> ExperimentResult:
    """The result of a run whose parts are prepared and whose models have not trained yet."""
    return ExperimentResult(
        protocol=protocol,
        outcomes={},
        fitted_recipe=parts.fitted,
        split=parts.split,
        not_scorable=parts.not_scorable,
        warnings=warnings,
        data_summary=data.summary(),
        recipe_report=parts.recipe_report,
        balance_report=parts.balance_report,
        settings=settings,
        calendar={"first_day": data.days[0].date().isoformat(), "n_days": int(data.n_days)},
    )


def _train_and_write(result: ExperimentResult, parts: Parts, *, out_dir, **loop) -> None:
    """Every model into ``result``, then the run folder when ``out_dir`` is given; if the loop
    fails, the models that finished are still written before the error goes on. ``loop``:
    :func:`_train_models`' settings."""
    try:
        _train_models(result, parts, out_dir=out_dir, **loop)
    except BaseException:  # an engine bug or a second Ctrl+C: keep what finished, then fail
        if out_dir is not None and any(o.ok for o in result.outcomes.values()):
            result.warnings.append("The run ended early; only the models listed here finished.")
            result.write(out_dir)
        raise

    if not any(o.ok for o in result.outcomes.values()):
        reasons = "; ".join(f"{n}: {o.skipped}" for n, o in result.outcomes.items())
        result.warnings.append(f"No model could be trained ({reasons}).")
    if out_dir is not None:
        result.write(out_dir)


def _test_set_warnings(parts: Parts) -> list[str]:
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


# the models, one after another ----------------------------------------------------------------
def _train_models(
    result: ExperimentResult, parts: Parts, *, model_params, epochs, patience, seed,
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
        # while ``skip`` is set this model's state reads as cancelled: training ends it with
        # its best weights and the loop goes on; a stop of the run still reaches every model
        model_state = state.child(i * span, (i + 1) * span, extra_cancel=skip)
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


def _run_model(name, parts: Parts, *, params, epochs, patience, seed, threshold_rule, state):
    """Train model ``name``, choose its threshold on validation, score the test part once; a
    model that refuses the data comes back skipped with the reason."""
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

    _record_training(outcome, trained)
    state.set_status(f"{name}: choosing the threshold on validation, scoring the test set")
    _evaluate(outcome, trained, parts, threshold_rule, seed)
    outcome.seconds = time.monotonic() - started
    log.info(
        "model %s: test ROC-AUC %s, PR-AUC %s, threshold %.4f (%s), %.1f s",
        name,
        outcome.metrics["roc_auc"],
        outcome.metrics["pr_auc"],
        outcome.threshold,
        outcome.threshold_how,
        outcome.seconds,
    )
    return outcome


def _record_training(outcome: ModelOutcome, trained) -> None:
    """The trained model, its history, best epoch, device and notes into ``outcome``."""
    outcome.trained = trained
    described = trained.describe()  # history with undefined values as None, JSON-ready
    outcome.history = described["history"]
    outcome.best_epoch = trained.best_epoch
    outcome.stopped = bool(trained.stopped)
    outcome.device = str(trained.device)
    outcome.notes.extend(str(n) for n in trained.notes)
    if outcome.stopped and not any("stopped" in n.lower() for n in outcome.notes):
        outcome.notes.append("training stopped by the user; best weights so far evaluated")


def _evaluate(outcome: ModelOutcome, trained, parts: Parts, threshold_rule, seed) -> None:
    """Threshold from the validation scores, then the test figures at that threshold."""
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
