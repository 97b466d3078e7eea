"""Engine functions run off the GUI thread, with their task state relayed as Qt signals.

Every long engine step is a plain function taking ``state=``. :class:`Task` runs one such
function off the GUI thread and turns the calls the function makes on its
:class:`~core.tasks.TaskState` into signals that arrive in the GUI thread: ``progress``,
``status``, ``event``, then exactly one of ``finished`` (the return value), ``failed`` (the
exception and its traceback text) or ``stopped`` (the user pressed Stop and the step raised
:class:`~core.tasks.Cancelled`), and last ``ended``.

An ordinary task runs in a :class:`QThread` of its own. A TensorFlow task
(:meth:`Task.run_on` with :func:`tensorflow_thread`) runs on the process's one TensorFlow
thread instead, made on first use and reused for the whole session: every TensorFlow call
(training, prediction with a stored Keras model) happens on that thread, one task after the
other, never two at a time.

:class:`TaskRunner` keeps a reference to each running task (a QThread that is garbage collected
while running takes the process down) and tells the status bar what runs.

Progress and status are throttled to about 25 updates a second: an engine loop that reports
after every customer would otherwise fill the GUI thread's event queue faster than it paints.
Events (training epochs, partial results) are never dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from core.tasks import Cancelled, TaskState

log = logging.getLogger(__name__)

_MIN_INTERVAL_S = 0.04
TENSORFLOW_NICENESS = 5  # added to the nice value of the TensorFlow thread and its pools


class _Job(QObject):
    """One call of an engine function; :meth:`execute` runs in a worker thread and only emits,
    never touches widgets."""

    progress = Signal(float)
    status = Signal(str)
    event = Signal(str, object)
    result = Signal(object)
    error = Signal(object, str)
    cancelled = Signal()

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, state: TaskState):
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._state = state
        self._lock = threading.Lock()
        self._last_progress_emit = 0.0
        self._last_status_emit = 0.0
        self._pending_progress: float | None = None
        self._pending_status: str | None = None
        self.done = threading.Event()  # set once the function has returned or raised
        self.thread_id: int | None = None  # the thread that ran it (threading.get_ident)

    # listeners called by the task state, in the worker thread ------------------------------
    def on_progress(self, fraction: float) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_progress_emit < _MIN_INTERVAL_S and fraction < 1.0:
                self._pending_progress = fraction
                return
            self._last_progress_emit = now
            self._pending_progress = None
        self.progress.emit(fraction)

    def on_status(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_status_emit < _MIN_INTERVAL_S:
                self._pending_status = text
                return
            self._last_status_emit = now
            self._pending_status = None
        self.status.emit(text)

    def on_event(self, kind: str, payload: dict) -> None:
        self.event.emit(kind, payload)

    def _flush(self) -> None:
        with self._lock:
            progress, status = self._pending_progress, self._pending_status
            self._pending_progress = self._pending_status = None
        if status is not None:
            self.status.emit(status)
        if progress is not None:
            self.progress.emit(progress)

    def execute(self) -> None:
        self.thread_id = threading.get_ident()
        try:
            value = self._fn(*self._args, state=self._state, **self._kwargs)
        except Cancelled:
            self._flush()
            self.done.set()
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - every failure must reach the GUI as a signal
            self._flush()
            self.done.set()
            self.error.emit(exc, traceback.format_exc())
        else:
            self._flush()
            self.done.set()
            self.result.emit(value)


class _JobThread(QThread):
    """A thread of its own for one ordinary task."""

    def __init__(self, job: _Job):
        super().__init__()
        self._job = job

    def run(self) -> None:
        self._job.execute()


class TensorFlowThread(QThread):
    """The one thread every TensorFlow task of the process runs on.

    :meth:`submit` puts a job in a queue; the thread runs the jobs in the order they came, so
    two never overlap. The loop is Python's own ``run`` over a :class:`queue.Queue`, not a Qt
    event loop calling a slot: with a slot invoked by the thread's event loop, TensorFlow's
    pybind11 calls (which take the GIL through ``PyGILState_Ensure``) deadlocked against the
    thread state PySide6 had made for the slot call (seen in gdb with PySide6 6.11 and
    TensorFlow 2.21: the thread held the GIL under one thread state and waited for it under
    another).
    """

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("etd-tensorflow")
        self._jobs: queue.Queue[_Job | None] = queue.Queue()

    def submit(self, job: _Job) -> None:
        if not self.isRunning():
            self.start()
            log.info("TensorFlow thread started")
        self._jobs.put(job)

    def run(self) -> None:
        _yield_to_the_window()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.execute()

    def stop(self, timeout_ms: int = 30_000) -> None:
        """End the thread once the job it runs has returned (shutdown only)."""
        if self.isRunning():
            self._jobs.put(None)
            self.wait(timeout_ms)


def _yield_to_the_window() -> None:
    """Lower this thread's CPU priority (Linux: per thread, inherited by the threads it starts).

    TensorFlow starts its compute pools from the thread that first uses it, and they keep every
    core busy while a model trains; measured during training on a loaded 2-core machine, the
    GUI thread waited 20-60 ms for a core in its longest stalls. At a lower priority the
    training threads give way whenever the window has work, and take the cores back when it
    has none.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TENSORFLOW_NICENESS)
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed
        log.info("TensorFlow thread keeps its priority: %s", exc)


_TENSORFLOW: TensorFlowThread | None = None


def tensorflow_thread() -> TensorFlowThread:
    """The process's TensorFlow thread, started on first use (needs a QCoreApplication)."""
    global _TENSORFLOW
    if _TENSORFLOW is None:
        _TENSORFLOW = TensorFlowThread()
        atexit.register(_TENSORFLOW.stop)  # a QThread destroyed while running aborts
    return _TENSORFLOW


class Task(QObject):
    """One engine function running in a worker thread.

    ``Task("Cleaning", clean, data, recipe=r)`` calls ``clean(data, recipe=r, state=...)``.
    Connect to the signals, then call :meth:`start`. :meth:`stop` asks the function to stop at
    its next ``state.check()``. :meth:`run_on` before :meth:`start` makes it run on the
    TensorFlow thread instead of a thread of its own.
    """

    progress = Signal(float)
    status = Signal(str)
    event = Signal(str, object)
    finished = Signal(object)
    failed = Signal(object, str)
    stopped = Signal()
    ended = Signal()

    def __init__(self, name: str, fn: Callable, *args: Any, **kwargs: Any):
        super().__init__()
        self.name = name
        self.state = TaskState()
        self.outcome: str | None = None  # "finished", "failed" or "stopped" once ended
        self.value: Any = None
        self.error: BaseException | None = None
        self.started_at: float | None = None
        self._job = _Job(fn, args, kwargs, self.state)
        self._thread: _JobThread | None = None
        self._shared: TensorFlowThread | None = None
        self.state._on_progress = self._job.on_progress
        self.state._on_status = self._job.on_status
        self.state._on_event = self._job.on_event
        self._job.progress.connect(self.progress)
        self._job.status.connect(self.status)
        self._job.event.connect(self.event)
        self._job.result.connect(self._on_result)
        self._job.error.connect(self._on_error)
        self._job.cancelled.connect(self._on_cancelled)

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.outcome is None

    @property
    def thread_id(self) -> int | None:
        """The ``threading.get_ident()`` of the thread that ran the function, once it started."""
        return self._job.thread_id

    def run_on(self, shared: TensorFlowThread) -> Task:
        """Run on ``shared`` (the TensorFlow thread) rather than on a thread of its own."""
        self._shared = shared
        return self

    def start(self) -> Task:
        self.started_at = time.monotonic()
        log.info("task %r started", self.name)
        if self._shared is not None:
            self._shared.submit(self._job)
        else:
            self._thread = _JobThread(self._job)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the step to stop; ``stopped`` follows once it reaches a check."""
        if self.running:
            log.info("task %r: stop asked", self.name)
            self.state.cancel()

    def detach(self) -> None:
        """Deliver nothing more from this task (its thread has ended or been told to stop)."""
        job = self._job
        for signal in (job.progress, job.status, job.event, job.result, job.error, job.cancelled):
            with contextlib.suppress(RuntimeError, TypeError):  # nothing was connected
                signal.disconnect()
        if self.outcome is None:
            self.outcome = "stopped"

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the function has returned (tests and shutdown only; never in a GUI
        slot). False if it has not within ``timeout_ms``, or was never started."""
        if self.started_at is None:
            return True
        if self._thread is not None:
            return self._thread.wait(timeout_ms)
        return self._job.done.wait(timeout_ms / 1000)

    # endings, in the GUI thread ------------------------------------------------------------
    def _end(self, outcome: str) -> None:
        self.outcome = outcome
        seconds = time.monotonic() - (self.started_at or time.monotonic())
        log.info("task %r %s after %.2f s", self.name, outcome, seconds)
        self.wait()
        self.ended.emit()

    def _on_result(self, value: object) -> None:
        self.value = value
        self.finished.emit(value)
        self._end("finished")

    def _on_error(self, exc: BaseException, details: str) -> None:
        self.error = exc
        log.error("task %r failed: %s\n%s", self.name, exc, details)
        self.failed.emit(exc, details)
        self._end("failed")

    def _on_cancelled(self) -> None:
        self.stopped.emit()
        self._end("stopped")


class TaskRunner(QObject):
    """Starts tasks and holds them until they end; tells listeners what runs."""

    task_started = Signal(object)
    task_ended = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[Task] = []
        self.closed = False

    @property
    def running(self) -> list[Task]:
        return list(self._running)

    def start(self, task: Task) -> Task:
        if self.closed:  # the window is closing: a late timer must not start new work
            log.info("task %r not started: shutting down", task.name)
            task.outcome = "stopped"
            return task
        self._running.append(task)
        task.ended.connect(lambda: self._forget(task))
        self.task_started.emit(task)
        return task.start()

    def run(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Task:
        """Create a :class:`Task` and start it; connect to its signals right after."""
        return self.start(Task(name, fn, *args, **kwargs))

    def stop_all(self) -> None:
        for task in self._running:
            task.stop()

    def wait_all(self, timeout_ms: int = 30_000) -> None:
        for task in list(self._running):
            task.wait(timeout_ms)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Stop every task, wait for the threads, and drop results not yet delivered.

        Called when the window closes: a result arriving after its page was deleted would call
        into dead widgets.
        """
        self.closed = True
        self.stop_all()
        self.wait_all(timeout_ms)
        for task in list(self._running):
            task.detach()
            self._forget(task)

    def _forget(self, task: Task) -> None:
        if task in self._running:
            self._running.remove(task)
        self.task_ended.emit(task)
