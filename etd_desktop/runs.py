"""The runs of a session and how their TensorFlow work is run.

:class:`RunBook` holds the runs the Evaluate and Customers pages show: the project's, and those
trained without a project (kept in memory until the window closes). :class:`TensorFlowLane`
starts TensorFlow tasks (training, scoring with a stored Keras model) one after another on the
process's one TensorFlow thread (:func:`etd_desktop.workers.tensorflow_thread`): Keras
prediction is not thread-safe, and TensorFlow keeps per-thread state that a second thread
would build again.

:func:`train_run` is the worker side of a training run: every model of the run trains inside
one :func:`core.protocol.run_experiment`, so the customers are split and prepared once.
:class:`RunControl` lets the GUI end only the model now training ("skip to next model"): the
engine keeps that model's best weights, evaluates it and goes on with the next one. Ending the
whole run is the task's own stop.

Each finished model is stored as it finishes: in the project file when one is open (from the
worker thread; the project serialises its connection), otherwise in this session's memory.
"""

from __future__ import annotations

import logging
import math
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from core.tasks import Cancelled, TaskState, ensure_state
from etd_desktop.workers import Task, TaskRunner, tensorflow_thread

if TYPE_CHECKING:
    from etd_desktop.workspace import Workspace

log = logging.getLogger(__name__)

MODEL_LABELS = {
    "mlp": "MLP (baseline)",
    "cnn_lstm": "CNN-LSTM",
    "conv_lstm": "ConvLSTM",
    "gbm": "Gradient boosting (yardstick)",
}
BATCH_EVENTS_PER_SECOND = 20  # train_run forwards at most this many batch events


# the run book: runs of this session and of the project ----------------------------------------
class RunBook(QObject):
    """Runs the Evaluate and Customers pages can show, from the project or from memory.

    Project runs have positive ids (the project's); runs made without a project have negative
    ids and live until the window closes. ``detail(run_id)`` has the shape of
    :meth:`core.project.Project.run`.
    """

    changed = Signal()

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self.workspace = workspace
        self._memory: dict[int, dict] = {}
        self._cache: dict[int, dict] = {}
        workspace.project_changed.connect(self._project_changed)

    def _project_changed(self) -> None:
        self._cache.clear()
        self.changed.emit()

    @property
    def project(self):
        return self.workspace.project

    def runs(self) -> list[dict]:
        """Runs with at least one stored model, oldest first (project runs, then memory)."""
        out = []
        if self.project is not None:
            for run in self.project.list_runs():
                if run.get("results"):
                    out.append(_summary(run["id"], run, list(run["results"])))
        for run_id, run in self._memory.items():
            if run["results"]:
                out.append(_summary(run_id, run, list(run["results"])))
        return out

    def detail(self, run_id: int) -> dict:
        if run_id < 0:
            return self._memory[run_id]
        if run_id not in self._cache:
            self._cache[run_id] = self.project.run(run_id)
        return self._cache[run_id]

    def scores(self, run_id: int, model: str):
        if run_id < 0:
            return self._memory[run_id]["scores"][model]
        return self.project.scores(run_id, model)

    def load_artifact(self, run_id: int, model: str):
        """The stored model (call in a TensorFlow worker: Keras loads here)."""
        if run_id < 0:
            from core.artifact import load_artifact

            return load_artifact(self._memory[run_id]["artifacts"][model])
        return self.project.load_artifact(run_id, model)

    def run_label(self, run_id: int) -> str:
        for run in self.runs():
            if run["id"] == run_id:
                return run["label"]
        return f"run {run_id}"

    # written by the Train page -------------------------------------------------------------
    def new_memory_run(self, record: dict) -> int:
        run_id = -(len(self._memory) + 1)
        self._memory[run_id] = {
            "id": run_id,
            "protocol": record.get("protocol"),
            "record": dict(record),
            "started": record.get("started", ""),
            "results": {},
            "scores": {},
            "artifacts": {},
        }
        return run_id

    def add_memory_result(self, run_id: int, model: str, result: dict, scores, artifact) -> None:
        run = self._memory[run_id]
        run["results"][model] = result
        run["scores"][model] = scores
        run["artifacts"][model] = artifact
        self.changed.emit()

    def memory_runs(self) -> list[dict]:
        """The runs made without a project that hold at least one model (for Save as)."""
        return [run for run in self._memory.values() if run["results"]]

    def forget_memory_runs(self, run_ids: list[int]) -> None:
        """Drop runs from memory once a project file holds them."""
        for run_id in run_ids:
            self._memory.pop(run_id, None)
        if run_ids:
            self.changed.emit()

    def project_result_stored(self, run_id: int) -> None:
        self._cache.pop(run_id, None)
        self.changed.emit()

    def take_event(self, kind: str, payload: dict, run_id: int | None) -> int | None:
        """Keep what a :func:`train_run` event says; returns the run's id (known from
        ``run_started`` on)."""
        if kind == "run_started":
            given = payload.get("run_id")
            return given if given is not None else self.new_memory_run(payload.get("record", {}))
        if kind == "model_scores":
            if payload.get("stored"):
                self.project_result_stored(run_id)
            else:
                self._memory[run_id]["scores"][payload["model"]] = payload["scores"]
                self.changed.emit()
        if kind == "model_done":
            if payload.get("stored"):
                self.project_result_stored(run_id)
            else:
                self.add_memory_result(
                    run_id,
                    payload["model"],
                    payload["result"],
                    payload["scores"],
                    payload["artifact_dir"],
                )
        return run_id


def _summary(run_id: int, run: dict, models: list[str]) -> dict:
    protocol = str(run.get("protocol") or (run.get("record") or {}).get("protocol") or "")
    leaking = protocol.startswith("paper")
    started = str(run.get("started") or "")[:16].replace("T", " ")
    where = "" if run_id > 0 else " (not saved)"
    label = f"Run {abs(run_id)}{where}: {'PAPER, leaking' if leaking else 'honest'}, {started}"
    return {
        "id": run_id,
        "protocol": protocol,
        "leaking": leaking,
        "models": models,
        "started": started,
        "label": label.rstrip(", "),
    }


# one TensorFlow task at a time, all on one thread ----------------------------------------------
class TensorFlowLane(QObject):
    """Starts TensorFlow tasks one after another, each on the one TensorFlow thread."""

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self._waiting: list[Task] = []
        self.current: Task | None = None

    def run(self, name: str, fn, *args, **kwargs) -> Task:
        """Queue ``fn(*args, state=..., **kwargs)``; connect to the task's signals right after."""
        task = Task(name, fn, *args, **kwargs)
        task.run_on(tensorflow_thread())
        task.ended.connect(self._next)
        self._waiting.append(task)
        if self.current is None:
            self._next()
        return task

    def _next(self) -> None:
        self.current = None
        while self._waiting and self.current is None:
            task = self._waiting.pop(0)
            self.tasks.start(task)
            if task.outcome is None:  # not refused by a closing window
                self.current = task


# the worker side -----------------------------------------------------------------------------
class _ThinnedState(TaskState):
    """The task's state with batch events thinned to :data:`BATCH_EVENTS_PER_SECOND`.

    The GUI needs a moving curve, not every one of hundreds of batches a second. It shares the
    task's cancel flag.
    """

    def __init__(self, outer: TaskState):
        super().__init__()
        self._cancel = outer._cancel
        self._outer = outer
        self._last_batch = 0.0

    def set_progress(self, fraction: float) -> None:
        self.progress = fraction
        self._outer.set_progress(fraction)

    def set_status(self, text: str) -> None:
        self.status = text
        self._outer.set_status(text)

    def emit(self, kind: str, payload: dict) -> None:
        if kind == "batch":
            now = time.monotonic()
            last = payload.get("batch") == payload.get("batches")
            if now - self._last_batch < 1.0 / BATCH_EVENTS_PER_SECOND and not last:
                return
            self._last_batch = now
        self._outer.emit(kind, payload)


class RunControl:
    """Lets the GUI end the model now training; the run goes on with the next one.

    ``skip`` is handed to :func:`core.protocol.run_experiment`, which clears it once the model
    it ended has been evaluated.
    """

    def __init__(self) -> None:
        self.skip = threading.Event()

    def skip_current(self) -> None:
        self.skip.set()


def model_result(outcome, protocol: str) -> tuple[dict, Any]:
    """What is stored of one finished model: result fields and the ranked test scores."""
    import numpy as np

    from core.scoring import rank_scores

    metrics = {**outcome.metrics, **outcome.summary()}
    metrics["roc_curve"] = outcome.metrics.get("roc_curve")
    metrics["pr_curve"] = outcome.metrics.get("pr_curve")
    metrics["protocol"] = protocol
    metrics["leaking"] = protocol == "paper"
    test = {
        "customer": [str(c) for c in outcome.test_customers],
        "label": [int(v) for v in outcome.test_labels],
        "score": [float(v) for v in outcome.test_scores],
        "synthetic": [bool(v) for v in outcome.test_synthetic],
    }
    curves = {"roc": metrics["roc_curve"], "pr": metrics["pr_curve"], "test": test}
    real = ~np.asarray(outcome.test_synthetic, dtype=bool)
    scores = rank_scores(
        np.asarray(outcome.test_customers, dtype=object)[real],
        np.asarray(outcome.test_scores, dtype=np.float64)[real],
        float(outcome.threshold),
    )
    result = {
        "metrics": _finite(metrics),
        "history": outcome.history,
        "curves": curves,
        "threshold": float(outcome.threshold),
        "stopped": bool(outcome.stopped),
        "seconds": float(outcome.seconds),
    }
    return result, scores


def _finite(value):
    """JSON-safe copy: NaN and infinities become None."""
    import numpy as np

    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def train_run(data, plan: dict, control: RunControl, project=None, state=None) -> dict:
    """Train ``plan["models"]`` one after another and store each as it finishes.

    ``plan``: models, protocol, split, balance, balance_params, model_params, epochs,
    patience, seed, recipe (dict or None), dataset_id. Emits ``"run_started"`` {run_id or
    None}, the engine's ``"batch"`` / ``"epoch"`` events, ``"model_started"`` {model},
    ``"model_done"`` {model, result, scores, artifact_dir, stored} and ``"model_skipped"``
    {model, reason}. Returns {run_id, done, skipped, stopped}.
    """
    from core.protocol import run_experiment
    from core.recipe import Recipe

    state = ensure_state(state)
    recipe = Recipe.from_dict(plan["recipe"]) if plan.get("recipe") else Recipe()
    protocol = plan.get("protocol", "honest")
    record = {
        "protocol": protocol,
        "leaking": protocol == "paper",
        "models": list(plan["models"]),
        "seed": int(plan.get("seed", 0)),
        "split": list(plan.get("split", (0.64, 0.16, 0.2))),
        "dataset_id": plan.get("dataset_id"),
        "device": plan.get("device"),
        "params": {k: v for k, v in plan.items() if k not in ("recipe",)},
        "recipe": recipe.to_dict(),
    }
    run_id = project.add_run(record) if project is not None else None
    state.emit("run_started", {"run_id": run_id, "record": record})
    out_dir = Path(tempfile.mkdtemp(prefix="etd-train-"))
    done: list[str] = []
    skipped: dict[str, str] = {}
    warnings: list[str] = []
    frames: dict[str, Any] = {}

    def store(outcome) -> None:
        if not outcome.ok:
            if not str(outcome.skipped or "").startswith("not run"):
                skipped[outcome.name] = str(outcome.skipped)
                state.emit("model_skipped", {"model": outcome.name, "reason": outcome.skipped})
            return
        result, scores = model_result(outcome, protocol)
        frames[outcome.name] = scores
        if project is not None:
            project.add_model_result(
                run_id, outcome.name, **result, artifact_dir=outcome.artifact_dir, scores=scores
            )
        done.append(outcome.name)
        state.emit(
            "model_done",
            {
                "model": outcome.name,
                "result": result,
                "scores": scores,
                "artifact_dir": outcome.artifact_dir,
                "stored": project is not None,
            },
        )

    models = list(plan["models"])

    def on_model_done(outcome) -> None:
        store(outcome)
        if outcome.stopped and not state.cancelled:
            log.info("model %s ended by the user; the run goes on", outcome.name)
        following = models[models.index(outcome.name) + 1 :]
        if following and not state.cancelled:
            state.emit("model_started", {"model": following[0]})
            state.set_status(f"going on with {MODEL_LABELS.get(following[0], following[0])}")

    thinned = _ThinnedState(state)
    state.emit("model_started", {"model": models[0]})
    stopped = False
    finished: list[str] = []
    try:
        result = run_experiment(
            data,
            recipe=recipe,
            models=models,
            protocol=protocol,
            split=tuple(plan.get("split", (0.64, 0.16, 0.2))),
            balance=plan.get("balance", "borderline_smote"),
            balance_params=plan.get("balance_params") or None,
            model_params=plan.get("model_params") or None,
            epochs=int(plan.get("epochs", 400)),
            patience=int(plan.get("patience", 50)),
            seed=int(plan.get("seed", 0)),
            out_dir=out_dir,
            state=thinned,
            on_model_done=on_model_done,
            skip=control.skip,
        )
    except Cancelled:  # ended while the customers were being prepared
        stopped = True
    else:
        warnings.extend(w for w in result.warnings if w not in warnings)
        finished = [m for m, o in result.outcomes.items() if not _not_run(o)]
        _add_unscorable(result, frames, finished, project, run_id, state)
    remaining = [m for m in models if m not in finished]
    stopped = stopped or state.cancelled
    for name in remaining:
        skipped.setdefault(name, "not run: the run was ended")
    if project is not None:
        project.finish_run(run_id, stopped=stopped, warnings=warnings)
    return {
        "run_id": run_id,
        "done": done,
        "skipped": skipped,
        "stopped": stopped,
        "warnings": warnings,
    }


def _add_unscorable(result, frames, finished, project, run_id, state) -> None:
    """Append the test customers the preparation dropped to each model's ranked list, so the
    Customers page can say why they have no score (known once the experiment returns)."""
    import numpy as np
    import pandas as pd

    dropped = result.not_scorable.get("test") or {}
    if not dropped:
        return
    extra = pd.DataFrame(
        {
            "customer": [str(c) for c in dropped],
            "score": np.nan,
            "rank": pd.NA,
            "percentile": np.nan,
            "flag": pd.NA,
            "scorable": False,
            "reason": [str(r) for r in dropped.values()],
        }
    )
    for name in finished:
        if name not in frames:
            continue
        frame = pd.concat(
            [frames[name], extra.astype(frames[name].dtypes.to_dict())], ignore_index=True
        )
        frames[name] = frame
        if project is not None:
            project.add_scores(run_id, name, frame)
        state.emit("model_scores", {"model": name, "scores": frame, "stored": project is not None})


def _not_run(outcome) -> bool:
    return str(outcome.skipped or "").startswith("not run")
