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
        help=f"most epochs per Keras model (default {epochs_default or EPOCHS})",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help=f"early-stopping patience on validation loss (default {PATIENCE})",
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


def _default_out() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / stamp


def _model_list(text: str) -> list[str]:
    from core.errors import TrainingError
    from core.models import MODEL_NAMES

    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown or not names:
        raise TrainingError(
            f"Unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown) or '(none)'}.",
            hint=f"Choose from {', '.join(MODEL_NAMES)}.",
        )
    return names


def _model_params(items: list[str]) -> dict[str, dict]:
    import json

    from core.errors import TrainingError

    params: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        model, dot, setting = key.strip().partition(".")
        if not sep or not dot or not model or not setting:
            raise TrainingError(
                f"--param {item!r} is not MODEL.KEY=VALUE.", hint="Example: gbm.max_iter=100"
            )
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        params.setdefault(model, {})[setting] = parsed
    return params


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


def _print_experiment(result, out: Path) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}")
    print()
    print(result.comparison_table())
    for name, outcome in result.outcomes.items():
        if outcome.ok:
            m = outcome.metrics
            key = "100" if m["n"] >= 200 else "5%"  # a top 100 of a small set says little
            print(
                f"  {name}: threshold {outcome.threshold:.3f} ({outcome.threshold_how}); "
                f"precision in the top {m['k_used'][key]} = {m['precision_at_k'][key]:.3f} vs "
                f"base rate {m['base_rate']:.3f}; best epoch {outcome.best_epoch}, "
                f"{outcome.seconds:.0f} s"
            )
            for note in outcome.notes:
                print(f"    note: {note}")
    print(f"\nRun written to {out}")


def run_train(args) -> int:
    data = read_data_from_args(args, args.data)
    out = Path(args.out) if args.out else _default_out()
    patience = args.patience if args.patience is not None else PATIENCE
    print(f"{data!r}")
    result, recorder = _experiment(args, data, out, epochs=args.epochs, patience=patience)
    _print_experiment(result, out)
    if recorder is not None:
        print(f"Run {recorder.run_id} recorded in the project {args.project}")
    return 0 if any(o.ok for o in result.outcomes.values()) else 1


def run_score(args) -> int:
    from core.artifact import load_artifact
    from core.scoring import score

    artifact = load_artifact(args.artifact)
    data = read_data_from_args(args, args.data)
    with ProgressBar(enabled=not args.quiet) as state:
        frame = score(artifact, data, state=state)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, na_rep="")
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
    started = time.monotonic()
    out = Path(args.out) if args.out else _default_out()
    if args.data:
        data = read_data_from_args(args, args.data)
        epochs = args.epochs if args.epochs is not None else EPOCHS
        patience = args.patience if args.patience is not None else PATIENCE
    else:
        from core.demo import make_demo

        data = make_demo(n_customers=args.customers, seed=args.seed)
        epochs = args.epochs if args.epochs is not None else DEMO_EPOCHS
        patience = args.patience if args.patience is not None else DEMO_PATIENCE
        if args.epochs is None:
            print(
                f"demo run: epochs capped at {epochs} (patience {patience}) so it ends in "
                f"minutes; pass --epochs to change (the reference method uses {EPOCHS})."
            )
    summary = data.summary()
    print(
        f"data: {summary['customers']:,} customers x {summary['days']:,} days "
        f"({summary['first_day']} .. {summary['last_day']}), {summary['theft']:,} thieves, "
        f"{summary['normal']:,} normal, {summary['missing_fraction']:.1%} missing, "
        f"{summary['zero_fraction']:.1%} zero"
        + (" [synthetic demo data]" if data.source.get("name") == "demo" else "")
    )

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
    from core.scoring import score

    artifact = load_artifact(best.artifact_dir)
    with ProgressBar(enabled=not args.quiet) as state:
        frame = score(artifact, data, state=state)
    path = out / f"scores_{best.name}.csv"
    frame.to_csv(path, index=False, na_rep="")
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
