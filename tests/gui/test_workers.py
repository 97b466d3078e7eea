"""The generic worker: results, progress, errors and Stop reach the GUI thread as signals."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread

from core.errors import DataFileError
from core.tasks import ensure_state
from etd_desktop.workers import Task, TaskRunner


def _count_to(n, state=None):
    state = ensure_state(state)
    for i in range(n):
        state.check()
        state.set_status(f"step {i}")
        state.emit("step", {"i": i})
        state.set_progress((i + 1) / n)
        time.sleep(0.002)
    return threading.current_thread().name


def test_task_returns_value_computed_off_the_gui_thread(qtbot):
    runner = TaskRunner()
    task = runner.run("count", _count_to, 20)
    progress, events = [], []
    task.progress.connect(progress.append)
    task.event.connect(lambda kind, payload: events.append(payload["i"]))
    with qtbot.waitSignal(task.finished, timeout=10_000) as blocker:
        pass
    assert blocker.args[0] != threading.current_thread().name
    assert task.outcome == "finished"
    assert events == list(range(20))  # events are never dropped
    assert progress and progress[-1] == 1.0  # the last progress always arrives
    qtbot.waitUntil(lambda: not runner.running)


def test_signals_arrive_in_the_gui_thread(qtbot):
    seen = []
    task = Task("count", _count_to, 5)
    task.status.connect(lambda _: seen.append(QThread.currentThread()))
    with qtbot.waitSignal(task.ended, timeout=10_000):
        task.start()
    assert seen and all(t is QThread.currentThread() for t in seen)


def test_engine_error_arrives_as_failed_with_the_exception(qtbot):
    def bad(state=None):
        raise DataFileError("x.csv", "row 3 has no id", hint="Fill it in.")

    task = Task("bad", bad)
    with qtbot.waitSignal(task.failed, timeout=10_000) as blocker:
        task.start()
    exc, details = blocker.args
    assert isinstance(exc, DataFileError) and "row 3" in str(exc)
    assert "Traceback" in details
    assert task.outcome == "failed"


def test_stop_ends_the_task_as_stopped(qtbot):
    task = Task("long", _count_to, 100_000)
    task.start()
    qtbot.wait(50)
    with qtbot.waitSignal(task.stopped, timeout=10_000):
        task.stop()
    qtbot.waitUntil(lambda: task.outcome == "stopped")
    assert task.value is None


def _note_thread(seen: list, busy: list, state=None):
    """A stand-in for a TensorFlow task: records its thread and whether another one overlapped."""
    busy.append(1)
    overlapped = len(busy) > 1
    time.sleep(0.05)
    busy.pop()
    seen.append(threading.get_ident())
    return overlapped


def test_tensorflow_tasks_all_run_on_one_reused_thread_one_at_a_time(qtbot):
    from etd_desktop.runs import TensorFlowLane

    lane = TensorFlowLane(TaskRunner())
    seen: list[int] = []
    busy: list[int] = []
    tasks = [lane.run(f"tf {i}", _note_thread, seen, busy) for i in range(3)]
    qtbot.waitUntil(lambda: all(t.outcome is not None for t in tasks), timeout=10_000)

    assert [t.outcome for t in tasks] == ["finished"] * 3
    assert [t.value for t in tasks] == [False, False, False]  # never two at the same time
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()
    assert {t.thread_id for t in tasks} == set(seen)

    later = lane.run("tf later", _note_thread, seen, busy)  # the thread outlives a task
    qtbot.waitUntil(lambda: later.outcome is not None, timeout=10_000)
    assert seen[-1] == seen[0]


def test_a_failing_tensorflow_task_leaves_the_thread_ready_for_the_next(qtbot):
    from etd_desktop.runs import TensorFlowLane

    lane = TensorFlowLane(TaskRunner())
    failing = lane.run("bad", _refuse, "no.csv")
    seen: list[int] = []
    after = lane.run("good", _note_thread, seen, [])
    qtbot.waitUntil(lambda: after.outcome is not None, timeout=10_000)
    assert failing.outcome == "failed" and isinstance(failing.error, DataFileError)
    assert after.outcome == "finished" and failing.thread_id == after.thread_id


def _refuse(path, state=None):
    raise DataFileError(path, "no readings in it", hint="Pick another file.")
