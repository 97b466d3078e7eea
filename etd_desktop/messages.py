"""Errors shown to the user: a readable message, the technical details one click away.

An :class:`~core.errors.EtdError` carries a message written for the user (file, row, value,
what to do); it is the box's text and its ``details`` (or the traceback) go behind "Show
Details...". Anything else is a defect of ours: the box says so briefly and puts the traceback
in the details. Both are logged. Boxes are window-modal but opened without blocking, so a
running task, or a test, goes on.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import EtdError

log = logging.getLogger(__name__)


def error_box(
    parent: QWidget | None, title: str, exc: BaseException, details: str = ""
) -> QMessageBox:
    """Build (not show) the message box for ``exc``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    if isinstance(exc, EtdError):
        box.setText(str(exc))
        extra = exc.details or details
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(
            f"Internal error: {type(exc).__name__}: {exc}\n\n"
            "This is a fault in the workbench, not in your data. The details below and the log "
            "file help to report it."
        )
        extra = details
    if extra:
        box.setDetailedText(extra)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    return box


def show_error(
    parent: QWidget | None, title: str, exc: BaseException, details: str = ""
) -> QMessageBox:
    """Log ``exc`` and show it without blocking; returns the box (keep or inspect it)."""
    if isinstance(exc, EtdError):
        log.warning("%s: %s", title, exc)
    else:
        log.error("%s: internal error %r\n%s", title, exc, details)
    box = error_box(parent, title, exc, details)
    box.open()
    return box
