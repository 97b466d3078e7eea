"""The desktop face of the workbench: PySide6 widgets over the Qt-free ``core`` engine."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("etd-workbench")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
