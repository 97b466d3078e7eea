"""``etd train``, ``etd score`` and ``etd pipeline``: experiments, scoring, the whole job.

Heavy modules (the protocol, training, TensorFlow) are imported inside the run functions so
that ``etd --help`` and the other commands start at once.

``etd pipeline`` with no data file runs on the demo data set. Its defaults are sized for a
first try on a two-core laptop: 2,000 demo customers and at most :data:`DEMO_EPOCHS` epochs
(patience :data:`DEMO_PATIENCE`) instead of the reference method's 400 / 50, which take hours
on a CPU. It says so when it starts; ``--epochs`` and ``--patience`` change it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import time
from pathlib import Path

from core.cli.common import add_data_options, read_data_from_args
from core.cli.progress import ProgressBar

log = logging.getLogger(__name__)

ALL_MODELS = "mlp,cnn_lstm,conv_lstm,gbm"
EPOCHS = 400
PATIENCE = 50
DEMO_CUSTOMERS = 2000
DEMO_EPOCHS = 30
DEMO_PATIENCE = 10
TOP_TO_INSPECT = 10


def register(subparsers) -> None:
    _register_train(subparsers)
    _register_score(subparsers)
    _register_pipeline(subparsers)


# arguments ------------------------------------------------------------------------------------
def _add_experiment_options(parser: argparse.ArgumentParser, *, epochs_default) -> None:
    group = parser.add_argument_group("experiment")
    group.add_argument(
        "--models",
        default=ALL_MODELS,
        metavar="LIST",
        help=f"comma-separated models to train (default {ALL_MODELS})",
    )
    group.add_argument(
        "--protocol",
        choices=("honest", "paper"),
        default="honest",
        help="honest: split first, fit on training customers only (default); paper: the "
        "study's leaking order (oversample, then split), for comparison",
    )
    group.add_argument(
        "--epochs",
        type=int,
        default=epochs_default,
        metavar="N",
        help=f"most epochs per Keras model (default {epochs_default})"
        if epochs_default
        else f"most epochs per Keras model (default {DEMO_EPOCHS} on the demo data, {EPOCHS} "
        "with DATA)",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help=f"early-stopping patience on validation loss (default {PATIENCE}; "
        f"{DEMO_PATIENCE} for the demo pipeline)",
    )
    group.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    group.add_argument(
        "--balance",
        default="borderline_smote",
        metavar="METHOD",
        help="oversampling of the training customers: borderline_smote (default), smote, "
        "adasyn, random_over, random_under or none",
    )
    group.add_argument(
        "--balance-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one oversampling setting, e.g. k_neighbors=3 or ratio=0.5 (repeatable)",
    )
    group.add_argument(
        "--threshold",
        default="f1",
        metavar="RULE",
        help="flagging threshold chosen on validation: f1 (best F1, default), budget:K "
        "(K inspections on the test set) or a number",
    )
    group.add_argument(
        "--recipe",
        metavar="RECIPE.json",
        help="preparation recipe as JSON (Recipe.to_dict); default: the reference method",
    )
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="MODEL.KEY=VALUE",
        help="change one model setting, e.g. gbm.max_iter=100 or mlp.batch_size=128 "
        "(repeatable; values are read as JSON when they can be)",
    )
    group.add_argument("--project", metavar="FILE", help="also record the run in this project")


def _register_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train and evaluate models on a labelled data file",
        description="Split the customers, prepare, balance, train each model and evaluate it "
        "once on held-out test customers. Writes metrics.json, histories.json, curves.json, "
        "comparison.txt and one artifact per model into the run folder.",
    )
    parser.add_argument("data", metavar="DATA", help="labelled data file")
    parser.add_argument(
        "--out", metavar="RUN_DIR", help="run folder (default ./runs/<date>-<time>)"
    )
    parser.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="k-fold cross-validation instead of one 64/16/20 split: each fold of customers is "
        "the test set once (honest protocol); writes fold_<i>/ folders and folds.json",
    )
    _add_experiment_options(parser, epochs_default=EPOCHS)
    add_data_options(parser)
    parser.set_defaults(run=run_train)


def _register_score(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score customers with a saved model",
        description="Apply a saved model (an artifact folder) to a data file: theft score, rank "
        "(1 = most suspicious), percentile (100 = most suspicious) and flag per customer. "
        "Customers the preparation drops are listed with an empty score and the reason.",
    )
    parser.add_argument("artifact", metavar="ARTIFACT", help="artifact folder of a trained model")
    parser.add_argument("data", metavar="DATA", help="data file to score")
    parser.add_argument("--out", required=True, metavar="SCORES.csv", help="CSV to write")
    parser.add_argument("--project", metavar="FILE", help="also keep the scores in this project")
    add_data_options(parser)
    parser.set_defaults(run=run_score)


def _register_pipeline(subparsers) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="the whole job in one go (on the demo data when no file is given)",
        description="Import, clean, balance, train, evaluate and score with the defaults, then "
        "print a short report. Without DATA it runs on the demo data set with "
        f"{DEMO_CUSTOMERS:,} customers and at most {DEMO_EPOCHS} epochs (patience "
        f"{DEMO_PATIENCE}) so that it ends in minutes on a laptop; with DATA the reference "
        f"method's {EPOCHS} epochs (patience {PATIENCE}) apply.",
    )
    parser.add_argument("data", nargs="?", metavar="DATA", help="labelled data file (optional)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default ./runs/<date>-<time>)")
    parser.add_argument(
        "--customers",
        type=int,
        default=DEMO_CUSTOMERS,
        metavar="N",
        help=f"size of the demo data set (default {DEMO_CUSTOMERS:,}; ignored with DATA)",
    )
    _add_experiment_options(parser, epochs_default=None)
    add_data_options(parser)
    parser.set_defaults(run=run_pipeline)


def _run_folder(args) -> Path:
    """``--out`` or ./runs/<date>-<time>; a folder already holding a run is refused, so that
    files of an earlier run (another model's artifact, say) never mix with this one's."""
    from core.errors import TrainingError

    if not args.out:
        return Path("runs") / _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out}: this is a file, not a folder.")
    if (out / "metrics.json").exists() or (out / "artifacts").exists():
        raise TrainingError(
            f"--out {out}: this folder already holds a run.",
            hint="Choose a new folder (or delete this one); runs are never overwritten.",
        )
    return out


def _model_list(text: str) -> list[str]:
    """The models of ``--models``, each once; unknown names refused with the known ones."""
    from core.protocol import checked_models

    return checked_models(m for m in text.split(",") if m.strip())


def _model_params(items: list[str]) -> dict[str, dict]:
    """``--param MODEL.KEY=VALUE`` items as {model: {key: value}}, values read as JSON.

    The model must exist, and a value for a numeric default must be a number (the training
    code would otherwise fail deep inside with an unhelpful message).
    """
    from core.errors import TrainingError
    from core.models import MODEL_NAMES, default_params

    params: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        model, dot, setting = (part.strip() for part in key.strip().partition("."))
        if not sep or not dot or not model or not setting:
            raise TrainingError(
                f"--param {item!r} is not MODEL.KEY=VALUE.", hint="Example: gbm.max_iter=100"
            )
        if model not in MODEL_NAMES:
            raise TrainingError(
                f"--param {item!r}: unknown model {model!r}.",
                hint=f"Choose from {', '.join(MODEL_NAMES)}.",
            )
        parsed = _json_value(value)
        default = default_params(model).get(setting)
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and (isinstance(parsed, bool) or not isinstance(parsed, int | float)):
            raise TrainingError(
                f"--param {item!r}: {model}.{setting} takes a number (default {default!r}).",
                hint=f"Example: {model}.{setting}={default!r}",
            )
        params.setdefault(model, {})[setting] = parsed
    return params


def _balance_params(items: list[str]) -> dict:
    """``--balance-param KEY=VALUE`` items as a dict, values read as JSON when they can be."""
    from core.errors import TrainingError

    params = {}
    for item in items:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise TrainingError(
                f"--balance-param {item!r} is not KEY=VALUE.", hint="Example: k_neighbors=3"
            )
        params[key] = _json_value(value)
    return params


def _json_value(text: str):
    """``text`` read as JSON (numbers, true/false, lists), or the text itself."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def _check_before_reading(args, epochs: int, patience: int) -> None:
    """Refuse bad settings before a large file is read and prepared."""
    from core.protocol import check_run_lengths

    _model_list(args.models)
    _model_params(args.param)
    _balance_params(args.balance_param)
    _recipe_from_args(args)
    check_run_lengths(epochs, patience, args.seed)
    folds = getattr(args, "folds", None)
    if folds is not None:
        from core.errors import TrainingError

        if folds < 2:
            raise TrainingError(f"--folds {folds}: cross-validation needs at least 2 folds.")
        if args.protocol == "paper" or args.project:
            raise TrainingError(
                "--folds runs the honest protocol only and is not recorded in a project.",
                hint="Drop --protocol paper / --project, or drop --folds.",
            )


def _recipe_from_args(args):
    if not getattr(args, "recipe", None):
        return None
    import json

    from core.errors import DataFileError
    from core.recipe import Recipe

    try:
        return Recipe.from_dict(json.loads(Path(args.recipe).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataFileError(args.recipe, f"not a preparation recipe ({err}).") from err


# running an experiment ------------------------------------------------------------------------
def _experiment(args, data, out: Path, *, epochs: int, patience: int):
    from core.protocol import run_experiment

    models = _model_list(args.models)
    settings = {
        "protocol": args.protocol,
        "models": models,
        "seed": args.seed,
        "epochs": epochs,
        "patience": patience,
        "balance": args.balance,
        "balance_params": _balance_params(args.balance_param),
        "threshold_rule": args.threshold,
        "out_dir": str(out),
    }
    recorder = _ProjectRecorder(args.project) if args.project else None
    if recorder is not None:
        recorder.start_run(data, settings)
    try:
        with ProgressBar(enabled=not args.quiet) as state:
            result = run_experiment(
                data,
                recipe=_recipe_from_args(args),
                models=models,
                protocol=args.protocol,
                balance=args.balance,
                balance_params=_balance_params(args.balance_param),
                model_params=_model_params(args.param),
                epochs=epochs,
                patience=patience,
                seed=args.seed,
                threshold_rule=args.threshold,
                out_dir=out,
                state=state,
                on_model_done=recorder.model_done if recorder is not None else None,
            )
        if recorder is not None:
            recorder.finish(result)
    finally:
        if recorder is not None:
            recorder.close()
    return result, recorder


def _top_list_text(metrics: dict) -> str:
    """Precision of the largest inspection list that is at most half the set, vs the base rate.

    A top 100 of 25 test customers is the whole set (precision = base rate) and a top 1 says
    nothing, so lists shorter than 10 or longer than half the set are not shown.
    """
    usable = [(k, key) for key, k in metrics["k_used"].items() if 10 <= k <= metrics["n"] // 2]
    if not usable:
        return f"base rate {metrics['base_rate']:.3f}"
    k, key = max(usable)
    return (
        f"precision in the top {k} = {metrics['precision_at_k'][key]:.3f} vs base rate "
        f"{metrics['base_rate']:.3f}"
    )


def _print_experiment(result, out: Path) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}")
    print()
    print(result.comparison_table())
    for name, outcome in result.outcomes.items():
        if outcome.ok:
            print(
                f"  {name}: threshold {outcome.threshold:.3f} ({outcome.threshold_how}); "
                f"{_top_list_text(outcome.metrics)}; best epoch {outcome.best_epoch}, "
                f"{outcome.seconds:.0f} s"
            )
            for note in outcome.notes:
                print(f"    note: {note}")
    print(f"\nRun written to {out}")
    if result.stopped_by_user:
        not_run = [n for n, o in result.outcomes.items() if not o.ok]
        print(
            "Stopped by the user: the models that finished (and the best weights of the one "
            f"that was stopped) are evaluated and saved in {out}"
            + (f"; not run: {', '.join(not_run)}." if not_run else ".")
        )


def _exit_code(result) -> int:
    """130 after a stop (as for Ctrl+C), 1 when no model trained, else 0."""
    if result.stopped_by_user:
        return 130
    return 0 if any(o.ok for o in result.outcomes.values()) else 1


def _data_line(data) -> str:
    summary = data.summary()
    return (
        f"data: {summary['customers']:,} customers x {summary['days']:,} days "
        f"({summary['first_day']} .. {summary['last_day']}), {summary['theft']:,} thieves, "
        f"{summary['normal']:,} normal, {summary['missing_fraction']:.1%} missing, "
        f"{summary['zero_fraction']:.1%} zero"
        + (" [synthetic demo data]" if data.source.get("name") == "demo" else "")
    )


def _quiet_tensorflow() -> None:
    from core.training.device import import_tensorflow_quietly

    import_tensorflow_quietly()


def run_train(args) -> int:
    _quiet_tensorflow()
    out = _run_folder(args)
    patience = args.patience if args.patience is not None else PATIENCE
    _check_before_reading(args, args.epochs, patience)
    data = read_data_from_args(args, args.data)
    print(_data_line(data))
    if args.folds is not None:
        return _cross_validate(args, data, out, patience=patience)
    result, recorder = _experiment(args, data, out, epochs=args.epochs, patience=patience)
    _print_experiment(result, out)
    if recorder is not None:
        print(f"Run {recorder.run_id} recorded in the project {args.project}")
    return _exit_code(result)


def _cross_validate(args, data, out: Path, *, patience: int) -> int:
    from core.protocol import run_folds

    with ProgressBar(enabled=not args.quiet) as state:
        result = run_folds(
            data,
            folds=args.folds,
            recipe=_recipe_from_args(args),
            models=_model_list(args.models),
            balance=args.balance,
            balance_params=_balance_params(args.balance_param),
            model_params=_model_params(args.param),
            epochs=args.epochs,
            patience=patience,
            seed=args.seed,
            threshold_rule=args.threshold,
            out_dir=out,
            state=state,
        )
    print()
    print(result.table())
    print(f"\nFolds written to {out}/fold_<i>/, the summary to {out / 'folds.json'}")
    if any(fold.stopped_by_user for fold in result.folds):
        print("Stopped by the user: the folds listed are those that finished.")
        return 130
    return 0 if any(s["folds_done"] for s in result.summary().values()) else 1


def _score_to_csv(artifact, data, path: Path, args):
    """Score ``data`` with ``artifact`` under a progress bar and write the CSV; the frame."""
    from core.scoring import score

    with ProgressBar(enabled=not args.quiet) as state:
        frame = score(artifact, data, state=state)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, na_rep="")
    return frame


def run_score(args) -> int:
    _quiet_tensorflow()
    from core.artifact import load_artifact
    from core.errors import EtdError

    out = Path(args.out)
    if out.is_dir():
        raise EtdError(f"--out {out}: this is a folder; give the name of the CSV file to write.")
    artifact = load_artifact(args.artifact)
    data = read_data_from_args(args, args.data)
    frame = _score_to_csv(artifact, data, out, args)
    for note in frame.attrs.get("notes", []):
        print(f"note: {note}")
    scorable = int(frame["scorable"].sum())
    print(
        f"{scorable:,} customers scored with {artifact.name}, "
        f"{len(frame) - scorable:,} not scorable, {int(frame['flag'].sum()):,} flagged at "
        f"threshold {artifact.threshold:.3f}; written to {out}"
    )
    if args.project:
        recorder = _ProjectRecorder(args.project)
        try:
            recorder.record_scoring(artifact, data, frame)
        finally:
            recorder.close()
        print(f"Scores recorded in the project {args.project} as run {recorder.run_id}")
    return 0


def run_pipeline(args) -> int:
    _quiet_tensorflow()
    started = time.monotonic()
    out = _run_folder(args)
    epochs = args.epochs if args.epochs is not None else (EPOCHS if args.data else DEMO_EPOCHS)
    patience = args.patience
    if patience is None:
        patience = PATIENCE if args.data else DEMO_PATIENCE
    _check_before_reading(args, epochs, patience)
    if args.data:
        data = read_data_from_args(args, args.data)
    else:
        from core.demo import make_demo

        if args.customers < 1:
            from core.errors import TrainingError

            raise TrainingError(f"--customers must be at least 1 (got {args.customers}).")
        data = make_demo(n_customers=args.customers, seed=args.seed)
        if args.epochs is None:
            print(
                f"demo run: epochs capped at {epochs} (patience {patience}) so it ends in "
                f"minutes; pass --epochs to change (the reference method uses {EPOCHS})."
            )
    print(_data_line(data))

    result, recorder = _experiment(args, data, out, epochs=epochs, patience=patience)
    report = result.recipe_report
    kept, dropped = report.get("kept", {}), report.get("dropped", {})
    if kept:
        parts = (f"{part} {kept[part]:,} (dropped {dropped.get(part, 0):,})" for part in kept)
        print(
            "cleaning: kept "
            + ", ".join(parts)
            + f"; oversampling made {result.balance_report.get('synthetic_in_training', 0):,} "
            "synthetic training thieves"
        )
    _print_experiment(result, out)
    if result.stopped_by_user:
        print("Nobody scored: the run was stopped.")
        return 130

    best = _best_by_validation(result)
    if best is None:
        print("No model could be trained; nothing to score.")
        return 1
    _score_everyone(best, data, out, args, recorder)
    print(f"\nDone in {time.monotonic() - started:.0f} s. Files in {out}/")
    return 0


def _best_by_validation(result):
    """The model with the best validation ROC-AUC: chosen without looking at the test set."""
    done = [o for o in result.outcomes.values() if o.ok]
    if not done:
        return None
    return max(done, key=lambda o: (o.val_metrics or {}).get("roc_auc") or 0.0)


def _score_everyone(best, data, out: Path, args, recorder) -> None:
    import pandas as pd

    from core.artifact import load_artifact

    path = out / f"scores_{best.name}.csv"
    frame = _score_to_csv(load_artifact(best.artifact_dir), data, path, args)
    print(
        f"\nTop {TOP_TO_INSPECT} customers to inspect ({best.name}, best validation ROC-AUC; "
        "every customer scored, training customers included):"
    )
    top = frame[frame["scorable"]].head(TOP_TO_INSPECT)
    for row in top.itertuples(index=False):
        label = getattr(row, "label", None)
        known = "" if label is None or pd.isna(label) else f"  label {int(label)}"
        print(f"  {row.rank:>3}  {row.customer}  score {row.score:.3f}{known}")
    print(
        f"Scores of all {len(frame):,} customers ({int((~frame['scorable']).sum()):,} not "
        f"scorable) in {path}"
    )
    if recorder is not None:
        recorder.reopen()
        try:
            recorder.project.add_scores(recorder.run_id, best.name, frame)
        finally:
            recorder.close()
        print(f"Run {recorder.run_id} and these scores recorded in the project {args.project}")


class _ProjectRecorder:
    """Keeps a run in a project file: the data set, the run, each model as it is done."""

    def __init__(self, path):
        self.path = Path(path)
        self.project = None
        self.run_id: int | None = None
        self.reopen()

    def reopen(self) -> None:
        from core.project import Project

        if self.project is None:
            exists = self.path.exists()
            self.project = Project.open(self.path) if exists else Project.create(self.path)

    def close(self) -> None:
        if self.project is not None:
            self.project.close()
            self.project = None

    def _dataset_id(self, data) -> int:
        sha = data.source.get("sha256")
        if sha:
            for row in self.project.list_datasets():
                if row.get("sha256") == sha and row.get("customers") == data.n_customers:
                    return int(row["id"])
        return self.project.add_dataset(data, name=str(data.source.get("name") or "data set"))

    def start_run(self, data, settings: dict) -> None:
        record = {**settings, "dataset_id": self._dataset_id(data), "params": settings}
        self.run_id = self.project.add_run(record)

    def model_done(self, outcome) -> None:
        if not outcome.ok:
            return
        self.project.add_model_result(
            self.run_id,
            outcome.name,
            metrics={**outcome.metrics, **outcome.summary()},
            history=outcome.history,
            curves={"roc": outcome.metrics.get("roc_curve"), "pr": outcome.metrics.get("pr_curve")},
            threshold=outcome.threshold,
            stopped=outcome.stopped,
            seconds=outcome.seconds,
            artifact_dir=outcome.artifact_dir,
        )

    def finish(self, result) -> None:
        stopped = any(o.stopped or (o.skipped or "").endswith("by the user")
                      for o in result.outcomes.values())  # fmt: skip
        self.project.finish_run(self.run_id, stopped=stopped, warnings=result.warnings)

    def record_scoring(self, artifact, data, frame) -> None:
        """A scoring of new data: a run of its own holding the model and the scores."""
        record = {
            "protocol": f"scoring with a saved model ({artifact.protocol or 'unknown protocol'})",
            "models": [artifact.name],
            "dataset_id": self._dataset_id(data),
            "artifact": str(artifact.directory),
        }
        self.run_id = self.project.add_run(record)
        self.project.add_model_result(
            self.run_id,
            artifact.name,
            metrics=artifact.metrics,
            threshold=artifact.threshold,
            artifact_dir=artifact.directory,
            scores=frame,
        )
        self.project.finish_run(self.run_id, warnings=frame.attrs.get("notes", []))
