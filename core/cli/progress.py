"""A text progress bar on stderr driven by a :class:`core.tasks.TaskState`."""

from __future__ import annotations

import signal
import sys
import threading
import time

from core.tasks import TaskState


class ProgressBar:
    """Draws ``[#####.....]  42%  status`` on stderr, at most ten times a second.

    Use as a context manager; it yields a task state to hand to the engine. Ctrl+C asks the
    step to stop (a second Ctrl+C interrupts at once).
    """

    def __init__(self, enabled: bool = True, width: int = 30, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.width = width
        self._last = 0.0
        self._lock = threading.Lock()
        self.state = TaskState(on_progress=self._progress, on_status=self._status)
        self._status_text = ""
        self._previous_handler = None

    def __enter__(self) -> TaskState:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._interrupt)
        return self.state

    def __exit__(self, *exc) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()

    def _interrupt(self, signum, frame):
        if self.state.cancelled:
            raise KeyboardInterrupt
        self.state.cancel()

    def _status(self, text: str) -> None:
        self._status_text = text
        self._draw(self.state.progress, force=True)

    def _progress(self, fraction: float) -> None:
        self._draw(fraction)

    def _draw(self, fraction: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < 0.1 and fraction < 1.0:
                return
            self._last = now
            filled = int(round(self.width * fraction))
            bar = "#" * filled + "." * (self.width - filled)
            text = self._status_text[:50]
            self.stream.write(f"\r[{bar}] {fraction:4.0%}  {text:<50}")
            self.stream.flush()
