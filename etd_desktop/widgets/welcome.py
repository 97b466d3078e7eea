"""The first-launch panel: open a data file, the demo data or a project."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class WelcomePanel(QWidget):
    open_file_clicked = Signal()
    open_demo_clicked = Signal()
    open_project_clicked = Signal()
    recent_clicked = Signal(str)

    def __init__(self, demo_size: int, parent: QWidget | None = None):
        super().__init__(parent)
        heading = QLabel("Electricity-theft detection workbench")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        intro = QLabel(
            "Daily smart-meter readings in, a ranked list of customers to inspect out. "
            "Start with a file of daily kWh per customer (SGCC-style CSV, Excel, Parquet or a "
            "long table of readings), the demo data, or a saved project. You can also drop a "
            "file onto this window."
        )
        intro.setWordWrap(True)
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        intro.setFixedWidth(620)
        intro.setMinimumHeight(intro.heightForWidth(620))  # wrapped text in an aligned layout

        self.file_button = QPushButton("Open a data file...   (Ctrl+O)")
        self.demo_button = QPushButton(
            f"Open the demo data   ({demo_size:,} synthetic customers, 1,035 days)"
        )
        self.project_button = QPushButton("Open a project...")
        for button in (self.file_button, self.demo_button, self.project_button):
            button.setMinimumHeight(40)
            button.setMinimumWidth(420)
        self.file_button.clicked.connect(self.open_file_clicked)
        self.demo_button.clicked.connect(self.open_demo_clicked)
        self.project_button.clicked.connect(self.open_project_clicked)

        self.recent_heading = QLabel("Recent")
        self.recent_list = QListWidget()
        self.recent_list.setMaximumWidth(620)
        self.recent_list.setMaximumHeight(150)
        self.recent_list.itemActivated.connect(
            lambda item: self.recent_clicked.emit(item.data(Qt.ItemDataRole.UserRole))
        )

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(heading)
        layout.addSpacing(8)
        layout.addWidget(intro, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(18)
        for button in (self.file_button, self.demo_button, self.project_button):
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(18)
        layout.addWidget(self.recent_heading, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.recent_list, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_recent(self, paths: list[str]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {Path(path).parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        self.recent_heading.setVisible(bool(paths))
        self.recent_list.setVisible(bool(paths))
