"""What the desktop remembers between launches: recent files, window geometry, last folder.

Stored with :class:`QSettings` under the organisation and application names below (the
registry on Windows, a plist on macOS, an INI file under ``~/.config`` on Linux). Tests and the
screenshot mode point it at a folder of their own with :func:`use_settings_folder`, so they
never read or change a person's real recent-files list.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "etd"
APPLICATION = "etd-workbench"
MAX_RECENT = 8

# Set by tests (or a portable install) to keep settings in a folder of its own.
SETTINGS_DIR_ENV = "ETD_SETTINGS_DIR"


def use_settings_folder(folder: str | Path) -> None:
    """Keep all settings as INI files under ``folder`` from now on (process-wide)."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))


def configure_from_environment() -> None:
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        use_settings_folder(folder)


class Settings:
    """Typed access to the few values the window keeps."""

    def __init__(self) -> None:
        # The explicit format makes use_settings_folder() apply: QSettings(org, app) alone
        # always takes the native location.
        self._q = QSettings(
            QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANISATION, APPLICATION
        )

    # recent files --------------------------------------------------------------------------
    def _recent(self, key: str) -> list[str]:
        value = self._q.value(key, [])
        if isinstance(value, str):  # QSettings returns a lone string for one-item lists
            value = [value]
        return [str(v) for v in (value or []) if v]

    def _add_recent(self, key: str, path: str | Path) -> None:
        path = str(Path(path).resolve())
        items = [p for p in self._recent(key) if p != path]
        self._q.setValue(key, [path, *items][:MAX_RECENT])
        self._q.sync()

    def recent_projects(self) -> list[str]:
        return self._recent("recent/projects")

    def add_recent_project(self, path: str | Path) -> None:
        self._add_recent("recent/projects", path)

    def recent_data_files(self) -> list[str]:
        return self._recent("recent/data_files")

    def add_recent_data_file(self, path: str | Path) -> None:
        self._add_recent("recent/data_files", path)

    def clear_recent(self) -> None:
        self._q.remove("recent")
        self._q.sync()

    # folders and geometry ------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        folder = str(self._q.value("paths/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str | Path) -> None:
        folder = Path(folder)
        self._q.setValue("paths/last_folder", str(folder if folder.is_dir() else folder.parent))

    def window_geometry(self) -> QByteArray | None:
        value = self._q.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_geometry(self, geometry: QByteArray) -> None:
        self._q.setValue("window/geometry", geometry)
        self._q.sync()

    def sync(self) -> None:
        self._q.sync()
