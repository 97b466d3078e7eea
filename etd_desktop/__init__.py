"""The desktop face of the workbench: PySide6 widgets over the Qt-free ``core`` engine."""
