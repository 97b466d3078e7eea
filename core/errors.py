"""Errors the user can act on.

Every error raised for bad input or a refused operation derives from :class:`EtdError`. Its text
is written for the person at the keyboard: it names the file, row, column or value and says what
to do. The CLI prints it without a traceback; the GUI shows it in a message box with the details
on demand.
"""

from __future__ import annotations


class EtdError(Exception):
    """A problem the user can fix; ``str(err)`` is the message to show."""

    def __init__(self, message: str, *, hint: str = "", details: str = ""):
        self.message = message
        self.hint = hint
        self.details = details
        super().__init__(message if not hint else f"{message} {hint}")


class DataFileError(EtdError):
    """A data file could not be read as a consumption data set."""

    def __init__(self, path, message: str, *, hint: str = "", details: str = ""):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}", hint=hint, details=details)


class TrainingError(EtdError):
    """Training or evaluation was refused (one class only, too few customers, ...)."""


class ArtifactError(EtdError):
    """A saved model or project content is missing, tampered with or does not fit the data."""


class ProjectError(EtdError):
    """A project file cannot be opened or written."""
