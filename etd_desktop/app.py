"""Start-up of the desktop application."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv if argv is None else ["etd-desktop", *argv])
    label = QLabel("Electricity-theft detection workbench")
    label.show()
    return app.exec()
