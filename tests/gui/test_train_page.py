"""The Train page trains real (tiny) models live, stops within a batch and keeps the GUI fluid."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QTimer

from core.demo import make_demo
from etd_desktop.pages.train import TrainPage
from etd_desktop.workspace import Workspace


@pytest.fixture(scope="module")
def demo():
    return make_demo(n_customers=200, n_days=120, seed=0, missing_rate=0.002, zero_rate=0.002)


@pytest.fixture
def page(qtbot, demo):
    workspace = Workspace()
    workspace.set_data(demo, "demo")
    page = TrainPage(workspace)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    yield page
    page.request_stop_and_wait()


def _plan(page, **changes):
    plan = page.plan()
    plan.update(models=["gbm", "mlp"], epochs=2, patience=2)
    plan["model_params"] = {"gbm": {"max_iter": 30}}
    plan.update(changes)
    return plan


class _TickGaps:
    """The longest gap between ticks of a 10 ms timer: how long the event loop stalled.

    ``busiest`` is the most CPU time the GUI thread itself used between two ticks: the work our
    slots and repaints do, whatever the machine's load. The wall-clock gap adds the time the
    thread waited for a CPU core or for the GIL.
    """

    def __init__(self):
        self.longest = 0.0
        self.busiest = 0.0
        self.last = None
        self.last_cpu = 0.0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now, cpu = time.perf_counter(), time.thread_time()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
            self.busiest = max(self.busiest, cpu - self.last_cpu)
        self.last, self.last_cpu = now, cpu

    def start(self):
        self.last = None
        self.timer.start()

    def stop(self):
        self.timer.stop()


def test_training_two_models_draws_curves_and_stores_both(qtbot, page):
    with qtbot.waitSignal(page.run_finished, timeout=180_000) as finished:
        page.start(_plan(page))
    summary = finished.args[0]

    assert summary["done"] == ["gbm", "mlp"]
    assert not summary["stopped"]
    assert page.curves["mlp"].points == 2  # one point per epoch, two epochs
    assert page.curves["gbm"].points >= 1  # boosting iterations arrive as epochs
    assert page.curves["mlp"].redraws >= 1
    runs = page.workspace.runs.runs()
    assert len(runs) == 1 and runs[0]["models"] == ["gbm", "mlp"]
    detail = page.workspace.runs.detail(runs[0]["id"])
    roc = detail["results"]["mlp"]["metrics"]["roc_auc"]
    assert 0.0 <= roc <= 1.0
    assert len(detail["results"]["mlp"]["curves"]["test"]["score"]) > 0


def test_the_event_loop_never_stalls_while_a_model_trains(qtbot, page):
    """Once TensorFlow is loaded and warm (its first training in a process stalled the loop
    for a few hundred ms in every measurement), per-batch events and redraws must not hold the
    GUI thread: small batches make many of them. The machine is shared, so the best of three
    trainings counts (a stall of our own would show every time)."""
    plan = _plan(page, models=["mlp"], epochs=8, patience=8)
    plan["model_params"] = {"mlp": {"batch_size": 16}}
    with qtbot.waitSignal(page.run_finished, timeout=120_000):
        page.start(dict(plan, epochs=2))  # the first training in a process warms TF up
    longest, busiest = [], []
    for _ in range(3):
        gaps = _TickGaps()
        page.start(plan)
        qtbot.waitUntil(lambda: page.curves["mlp"].points >= 1, timeout=120_000)
        gaps.start()
        with qtbot.waitSignal(page.run_finished, timeout=120_000):
            pass
        gaps.stop()
        assert page.curves["mlp"].batch_loss.size > 8  # batch events did arrive
        longest.append(gaps.longest)
        busiest.append(gaps.busiest)
        if gaps.longest < 0.100:
            break
    best = min(longest)
    print(f"longest event-loop gap while training: {best * 1000:.0f} ms ({longest})")
    print(f"most GUI-thread CPU between two ticks: {min(busiest) * 1000:.0f} ms ({busiest})")
    assert min(busiest) < 0.060  # our own work per event-loop turn, load or not
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if best >= 0.100 and load > cores:
        pytest.skip(
            f"machine overloaded (load {load:.1f} on {cores} cores): the GUI thread waited "
            f"{best * 1000:.0f} ms; the 100 ms bound can only be checked on a quieter machine"
        )
    assert best < 0.100


def test_end_the_run_stops_the_model_within_a_batch_and_keeps_it(qtbot, page):
    plan = _plan(page, models=["mlp", "gbm"], epochs=500, patience=500)
    page.start(plan)
    qtbot.waitUntil(lambda: page.curves["mlp"].points >= 2, timeout=120_000)
    with qtbot.waitSignal(page.run_finished, timeout=30_000) as finished:
        asked = time.perf_counter()
        page.end_run()
    took = time.perf_counter() - asked
    summary = finished.args[0]

    assert summary["stopped"]
    assert summary["done"] == ["mlp"]  # kept with its best weights
    assert "gbm" in summary["skipped"]
    detail = page.workspace.runs.detail(summary_run(page))
    assert detail["results"]["mlp"]["stopped"] is True
    assert len(detail["results"]["mlp"]["history"]["loss"]) < 500
    assert took < 20


def summary_run(page):
    return page.workspace.runs.runs()[-1]["id"]


def test_skip_to_next_model_ends_the_first_and_trains_the_second(qtbot, page):
    plan = _plan(page, models=["mlp", "gbm"], epochs=500, patience=500)
    page.start(plan)
    qtbot.waitUntil(lambda: page.curves["mlp"].points >= 2, timeout=120_000)
    with qtbot.waitSignal(page.run_finished, timeout=120_000) as finished:
        page.skip_model()
    summary = finished.args[0]
    assert summary["done"] == ["mlp", "gbm"]
    assert not summary["stopped"]
    results = page.workspace.runs.detail(summary_run(page))["results"]
    assert results["mlp"]["stopped"] is True  # ended early, best weights kept and evaluated
    assert len(results["mlp"]["history"]["loss"]) < 500
    assert results["gbm"]["stopped"] is False
    mlp_test = results["mlp"]["curves"]["test"]["customer"]
    assert mlp_test == results["gbm"]["curves"]["test"]["customer"]  # the same split


def test_closing_the_window_while_training_asks_then_stops_cleanly(qtbot, demo):
    from etd_desktop.main_window import MainWindow

    window = MainWindow(detect_device=False)
    qtbot.addWidget(window)
    window.show()
    window.workspace.set_data(demo, "demo")
    page = window.pages["train"]
    answers = [False, True]  # first "no, keep training", then "yes, stop and close"
    asked = []
    page.ask_close = lambda: asked.append(answers[len(asked)]) or asked[-1]
    page.start(_plan(page, models=["mlp"], epochs=500, patience=500))
    qtbot.waitUntil(lambda: page.curves["mlp"].points >= 1, timeout=120_000)

    window.close()
    assert asked == [False]
    assert window.isVisible() and page.is_busy()

    window.close()
    assert asked == [False, True]
    assert not window.isVisible()
    assert page.task.wait(0)  # the training thread has ended
