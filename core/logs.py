"""Logging set-up for the two faces (CLI and desktop). The engine only logs, never prints.

Each module does ``log = logging.getLogger(__name__)``. :func:`configure_logging` sends all of
it to a rotating file in the user's log folder; call it once from an entry point, never from
library code.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

APP_NAME = "etd-workbench"
APP_AUTHOR = "etd"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def configure_logging(level: int = logging.INFO, *, console: bool = False) -> Path | None:
    """Attach a rotating log file (1 MB x 5) to the root logger; return its path.

    A log folder that cannot be created (read-only home, sandbox) is not fatal: logging then
    goes nowhere unless ``console`` is set, and None is returned.
    """
    root = logging.getLogger()
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    path: Path | None = log_dir() / "etd.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not any(getattr(h, "_etd_file", False) for h in root.handlers):
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
            )
            handler.setFormatter(fmt)
            handler._etd_file = True  # type: ignore[attr-defined]
            root.addHandler(handler)
    except OSError:
        path = None
    if console and not any(getattr(h, "_etd_console", False) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        stream._etd_console = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    for noisy in ("matplotlib", "PIL", "numba", "h5py", "absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
