"""The task state handed to every long engine step.

A step reports how far it got (:meth:`TaskState.set_progress`), what it is doing
(:meth:`TaskState.set_status`) and partial results such as training events
(:meth:`TaskState.emit`), and calls :meth:`TaskState.check` between chunks of work so that a
Stop pressed in the GUI, or Ctrl+C in the CLI, ends it promptly with :class:`Cancelled`.

The same object is safe to use from the worker thread that runs the step and from the thread
that asks for the cancel. Listeners are plain callables; the GUI wraps them into Qt signals,
the CLI into a progress bar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class Cancelled(Exception):
    """Raised inside a step when the user asked it to stop."""


ProgressListener = Callable[[float], None]
StatusListener = Callable[[str], None]
EventListener = Callable[[str, dict], None]


class TaskState:
    """Progress, status text, partial-result events and a cancel flag for one long step.

    Progress is a fraction in [0, 1]. :meth:`child` gives a view that maps its own 0..1 onto a
    slice of this one, so a pipeline can hand each stage a share of the bar.
    """

    def __init__(
        self,
        on_progress: ProgressListener | None = None,
        on_status: StatusListener | None = None,
        on_event: EventListener | None = None,
    ):
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self._on_status = on_status
        self._on_event = on_event
        self.progress = 0.0
        self.status = ""
        self.started = time.monotonic()

    # cancel --------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running step to stop at its next check."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if a stop was asked for."""
        if self._cancel.is_set():
            raise Cancelled("stopped by the user")

    # reporting -----------------------------------------------------------------------------
    def set_progress(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        self.progress = fraction
        if self._on_progress is not None:
            self._on_progress(fraction)

    def set_status(self, text: str) -> None:
        self.status = text
        if self._on_status is not None:
            self._on_status(text)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        """Send a partial result (a training epoch, a batch, ...) to whoever listens."""
        if self._on_event is not None:
            self._on_event(kind, payload)

    def child(self, start: float, end: float, *, extra_cancel=None) -> TaskState:
        """A task state whose progress 0..1 fills ``start..end`` of this one.

        It shares this state's cancel flag, status and event listeners. With ``extra_cancel``
        (anything with ``is_set()``, such as a :class:`threading.Event`) it also reads as
        cancelled while that is set: a pipeline can then stop one stage and go on with the
        next, while a cancel of this state still stops everything.
        """
        return _ChildState(self, start, end, extra_cancel)


class _EitherFlag:
    """Set when the parent's flag or the extra one is; setting it sets the parent's."""

    def __init__(self, parent, extra):
        self._parent = parent
        self._extra = extra

    def is_set(self) -> bool:
        return self._parent.is_set() or self._extra.is_set()

    def set(self) -> None:
        self._parent.set()


class _ChildState(TaskState):
    def __init__(self, parent: TaskState, start: float, end: float, extra_cancel=None):
        self._parent = parent
        self._start = start
        self._span = end - start
        self._extra_cancel = extra_cancel
        self.progress = 0.0
        self.status = ""
        self.started = time.monotonic()

    @property
    def _cancel(self):  # share the root's flag so a cancel reaches every stage
        if self._extra_cancel is None:
            return self._parent._cancel
        return _EitherFlag(self._parent._cancel, self._extra_cancel)

    def set_progress(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        self.progress = fraction
        self._parent.set_progress(self._start + self._span * fraction)

    def set_status(self, text: str) -> None:
        self.status = text
        self._parent.set_status(text)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        self._parent.emit(kind, payload)


def ensure_state(state: TaskState | None) -> TaskState:
    """The given state, or a silent one for callers that do not watch progress."""
    return state if state is not None else TaskState()
