"""``etd-desktop --self-test``: check an installed build end to end, without a window.

Runs the whole workflow once on small demo data (300 customers x 200 days, few gaps so that
the missing-data filter keeps most of them): import, cleaning with the reference recipe,
Borderline-SMOTE, one epoch of each model, evaluation, an artifact saved and reloaded, a
project saved and reopened, scoring, and one page of the window drawn offscreen. Each step
prints ``[ok] name (seconds)`` or ``[FAILED] name (seconds): error``; a step whose input
failed is ``[skipped]``. The exit code is 0 only when every step passed.

What it catches is what goes wrong in a packaged build: a module, data file, package metadata
or Qt plugin that PyInstaller left out shows as the step that needs it. The figures of one
epoch on demo data mean nothing and are not checked, only that they are numbers.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEMO_CUSTOMERS = 300
DEMO_DAYS = 200
THEFT_FRACTION = 0.15  # enough thieves for each of train, validation and test
PAGE = "data"
REPORT_FILE = Path(tempfile.gettempdir()) / "etd-selftest.txt"
# Compiling the two sequence models with XLA takes three to four times longer than their one
# epoch without it (measured: CNN-LSTM 154 s against 49 s, ConvLSTM 101 s against 24 s on a
# busy 2-core machine). The MLP keeps XLA, so the compiled path is still checked; the training
# loop falls back to the plain one by itself where XLA fails. Gradient boosting does not count
# epochs: a few boosting rounds stand for its one epoch.
SELF_TEST_MODEL_PARAMS = {
    "cnn_lstm": {"jit_compile": False},
    "conv_lstm": {"jit_compile": False},
    "gbm": {"max_iter": 3},
}


class _Report:
    """Runs the steps one after the other, prints each outcome, remembers the failures."""

    def __init__(self, out):
        self.out = out
        self.passed = 0
        self.failed: list[str] = []
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def step(self, name: str, action: Callable[[], Any], *needs: Any) -> Any:
        """Run ``action``; its result, or None when it failed or an input in ``needs`` is None."""
        if any(value is None for value in needs):
            self.failed.append(name)
            self.line(f"[skipped] {name}: an earlier step it needs failed")
            return None
        began = time.perf_counter()
        try:
            result = action()
        except Exception as exc:  # the report must go on to the next step whatever broke
            self.record(name, time.perf_counter() - began, exc)
            return None
        self.record(name, time.perf_counter() - began)
        return result if result is not None else True

    def record(self, name: str, seconds: float, error: BaseException | str | None = None) -> None:
        if error is None:
            self.passed += 1
            self.line(f"[ok] {name} ({seconds:.1f} s)")
            return
        self.failed.append(name)
        if isinstance(error, BaseException):
            text = f"{type(error).__name__}: {error}"
            log.error("self-test step %s failed\n%s", name, traceback.format_exc())
            detail = traceback.format_exception(type(error), error, error.__traceback__)
            self.line(f"[FAILED] {name} ({seconds:.1f} s): {text}")
            self.line("    " + "    ".join(detail[-3:]).rstrip())
        else:
            self.line(f"[FAILED] {name} ({seconds:.1f} s): {error}")

    def finish(self) -> int:
        total = time.perf_counter() - self.started
        if self.failed:
            self.line(
                f"[FAILED] {len(self.failed)} of {self.passed + len(self.failed)} steps failed "
                f"({', '.join(self.failed)}); total {total:.1f} s"
            )
            return 1
        self.line(f"[ok] all {self.passed} steps passed; total {total:.1f} s")
        return 0


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# the steps -------------------------------------------------------------------------------------
def _versions() -> str:
    from core import __version__

    frozen = getattr(sys, "frozen", False)
    _check(
        "+source" not in __version__ or not frozen,
        "the package metadata of etd-workbench is missing from the build",
    )
    return __version__


def _demo_data():
    from core.demo import make_demo

    data = make_demo(
        n_customers=DEMO_CUSTOMERS,
        n_days=DEMO_DAYS,
        theft_fraction=THEFT_FRACTION,
        seed=0,
        missing_rate=0.01,
        zero_rate=0.005,
    )
    _check(data.kwh.shape == (DEMO_CUSTOMERS, DEMO_DAYS), f"demo shape {data.kwh.shape}")
    _check(data.theft_count > 20, f"only {data.theft_count} thieves in the demo data")
    return data


def _clean(data):
    from core.recipe import Recipe

    _, prepared = Recipe().fit_transform(data)
    _check(np.isfinite(prepared.X).all(), "the cleaned matrix holds missing values")
    _check(prepared.X.shape[0] > DEMO_CUSTOMERS // 2, f"only {prepared.X.shape[0]} kept")
    return prepared


def _balance(prepared):
    from core.balancing import oversample

    labels = prepared.data.labels
    result = oversample(prepared.X, labels, "borderline_smote", seed=0)
    counts = np.bincount(result.y.astype(int), minlength=2)
    _check(result.synthetic.any(), "Borderline-SMOTE made no synthetic thieves")
    _check(counts[0] == counts[1], f"classes not balanced after oversampling: {counts}")
    return result


def _evaluate(outcome):
    from core.evaluation import evaluate

    frame = outcome.test_frame()
    metrics = evaluate(frame["label"].to_numpy(), frame["score"].to_numpy(), n_boot=50)
    for key in ("accuracy", "f1", "roc_auc", "pr_auc"):
        value = metrics[key]
        _check(value is not None and 0.0 <= value <= 1.0, f"{key} = {value!r}")
    return metrics


def _artifact_round_trip(result, name: str, data, folder: Path):
    from core.artifact import load_artifact, save_artifact

    outcome = result.outcomes[name]
    directory = save_artifact(
        folder / name,
        outcome.trained,
        result.fitted_recipe,
        threshold=outcome.threshold,
        metrics=outcome.summary(),
        calendar=result.calendar,
    )
    artifact = load_artifact(directory)
    X = result.fitted_recipe.transform(data.subset(np.arange(40))).X
    before = np.asarray(outcome.trained.predict(X)).ravel()
    after = np.asarray(artifact.trained.predict(X)).ravel()
    _check(np.allclose(before, after, atol=1e-5), f"{name} predicts differently once reloaded")
    return artifact


def _project_round_trip(data, prepared, result, folder: Path):
    from core.project import Project

    path = folder / "self-test.etdproj"
    with Project.create(path) as project:
        dataset_id = project.add_dataset(data, name="demo")
        project.add_cleaned(dataset_id, {"recipe": "reference"}, prepared.report, prepared.data)
        run_id = project.add_run({**result.run_record(), "dataset_id": dataset_id})
        for name, outcome in result.outcomes.items():
            if outcome.ok:
                project.add_model_result(
                    run_id,
                    name,
                    metrics=outcome.summary(),
                    history=outcome.history,
                    threshold=outcome.threshold,
                    artifact_dir=outcome.artifact_dir,
                )
        project.finish_run(run_id)

    with Project.open(path, read_only=True) as project:
        again = project.load_dataset(dataset_id)
        _check(np.array_equal(again.kwh, data.kwh, equal_nan=True), "the stored readings changed")
        _check(len(project.list_runs()) == 1, "the run was not stored")
        first = next(n for n, o in result.outcomes.items() if o.ok)
        artifact = project.load_artifact(run_id, first)
        _check(artifact.n_days == data.n_days, "the stored model has another day count")
    return path


def _score(artifact, data):
    from core.scoring import score

    frame = score(artifact, data)
    _check(len(frame) == data.n_customers, f"{len(frame)} rows for {data.n_customers} customers")
    scores = frame.loc[frame["scorable"], "score"].to_numpy(dtype=float)
    _check(len(scores) > 0 and np.all((scores >= 0) & (scores <= 1)), "scores outside [0, 1]")
    return frame


def _render_page(data):
    from PySide6.QtWidgets import QApplication

    from etd_desktop.app import create_application
    from etd_desktop.main_window import MainWindow

    app = create_application("light")
    window = MainWindow(detect_device=False)
    window.resize(1200, 800)
    window.workspace.set_data(data, "demo")
    window.show()
    window.show_page(PAGE)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    image = window.grab().toImage()
    window.close()
    QApplication.processEvents()

    _check(image.width() > 100 and image.height() > 100, f"{image.width()}x{image.height()}")
    colours = {
        image.pixel(x, y)
        for x in range(0, image.width(), max(1, image.width() // 60))
        for y in range(0, image.height(), max(1, image.height() // 40))
    }
    _check(len(colours) >= 4, f"the page looks blank ({len(colours)} colours)")
    return len(colours)


# the whole check ------------------------------------------------------------------------------
def run_self_test(out=None) -> int:
    """Run every step; print the outcomes to ``out`` (stdout); 0 when all passed, else 1."""
    # Before anything imports Qt or TensorFlow: no window, no GPU search noise, and the
    # user's own settings left alone.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = out if out is not None else sys.stdout
    if out is None:  # a windowed Windows build has no console: the report goes to a file
        with open(REPORT_FILE, "w", encoding="utf-8") as fh:
            return _run_steps(fh)
    return _run_steps(out)


def _run_steps(out) -> int:
    with tempfile.TemporaryDirectory(prefix="etd-selftest-") as tmp:
        folder = Path(tmp)
        os.environ["ETD_SETTINGS_DIR"] = str(folder / "settings")
        report = _Report(out)
        report.line(
            f"etd-desktop self-test: Python {sys.version.split()[0]} on {sys.platform}, "
            f"{'packaged build' if getattr(sys, 'frozen', False) else 'source install'}"
        )
        version = report.step("package version", _versions)
        if version:
            report.line(f"    version {version}")
        data = report.step("import demo data", _demo_data)
        prepared = report.step("clean (reference recipe)", lambda: _clean(data), data)
        report.step("balance (Borderline-SMOTE)", lambda: _balance(prepared), prepared)
        result = _train_all(report, data, folder)
        ok_models = [n for n, o in result.outcomes.items() if o.ok] if result else []
        first = ok_models[0] if ok_models else None

        report.step("evaluate", lambda: _evaluate(result.outcomes[first]), first)
        artifacts = {}
        for name in ok_models:
            artifacts[name] = report.step(
                f"save and reload artifact ({name})",
                lambda name=name: _artifact_round_trip(result, name, data, folder / "artifacts"),
            )
        report.step(
            "save and reopen project",
            lambda: _project_round_trip(data, prepared, result, folder),
            data,
            prepared,
            first,
        )
        artifact = next((a for a in artifacts.values() if a not in (None, True)), None)
        report.step("score customers", lambda: _score(artifact, data), artifact)
        report.step(f"render the {PAGE} page offscreen", lambda: _render_page(data), data)
        return report.finish()


def _train_all(report: _Report, data, folder: Path):
    """One experiment, one epoch per model; each model is its own step, reported as it ends."""
    from core.models import MODEL_NAMES

    if data is None:
        for name in MODEL_NAMES:
            report.step(f"train {name}, 1 epoch", lambda: None, None)
        return None

    from core.protocol import run_experiment
    from core.tasks import TaskState

    began = [time.perf_counter()]

    def status(text: str) -> None:
        # run_experiment says "training mlp (1 of 4)" once the split and preparation are done
        if text.startswith("training ") and "(1 of" in text:
            report.record("split and prepare the experiment", time.perf_counter() - began[0])
            began[0] = time.perf_counter()

    def model_done(outcome) -> None:
        seconds = time.perf_counter() - began[0]
        began[0] = time.perf_counter()
        name = f"train {outcome.name}, 1 epoch"
        if outcome.ok and all(math.isfinite(v) for v in outcome.test_scores):
            report.record(name, seconds)
        else:
            report.record(name, seconds, outcome.skipped or "no test scores")

    try:
        result = run_experiment(
            data,
            models=MODEL_NAMES,
            epochs=1,
            patience=1,
            seed=0,
            model_params=SELF_TEST_MODEL_PARAMS,
            out_dir=folder / "run",
            state=TaskState(on_status=status),
            on_model_done=model_done,
        )
    except Exception as exc:
        report.record("train the models", time.perf_counter() - began[0], exc)
        return None
    return result
