"""A stepped page (a wizard inside the window): step names on top, Back / Next below.

Unlike a modal QWizard it stays in the window, so the user can look at other pages while a
step's preview computes, and come back to the same step.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget


class Steps(QWidget):
    step_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.names: list[str] = []
        self.step_buttons: list[QPushButton] = []
        self.stack = QStackedWidget()
        self._header = QHBoxLayout()
        self._header.setSpacing(4)
        self.back_button = QPushButton("\u2190 Back")
        self.next_button = QPushButton("Next \u2192")
        self.back_button.clicked.connect(lambda: self.go(self.current - 1))
        self.next_button.clicked.connect(lambda: self.go(self.current + 1))
        self.footer = QHBoxLayout()
        self.footer.addStretch(1)
        self.footer.addWidget(self.back_button)
        self.footer.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._header)
        layout.addWidget(self.stack, 1)
        layout.addLayout(self.footer)

    def add_step(self, name: str, widget: QWidget) -> int:
        index = len(self.names)
        self.names.append(name)
        button = QPushButton(f"{index + 1}. {name}")
        button.setCheckable(True)
        button.setFlat(True)
        button.clicked.connect(lambda _=False, i=index: self.go(i))
        self.step_buttons.append(button)
        self._header.addWidget(button)
        self.stack.addWidget(widget)
        self._sync()
        return index

    def finish_header(self) -> None:
        self._header.addStretch(1)

    @property
    def current(self) -> int:
        return self.stack.currentIndex()

    def go(self, index: int) -> None:
        index = max(0, min(len(self.names) - 1, index))
        self.stack.setCurrentIndex(index)
        self._sync()
        self.step_changed.emit(index)

    def go_to_name(self, name: str) -> None:
        lowered = [n.lower() for n in self.names]
        for i, n in enumerate(lowered):
            if n.startswith(name.lower()):
                self.go(i)
                return

    def _sync(self) -> None:
        for i, button in enumerate(self.step_buttons):
            button.setChecked(i == self.current)
            font = button.font()
            font.setBold(i == self.current)
            button.setFont(font)
        self.back_button.setEnabled(self.current > 0)
        self.next_button.setEnabled(self.current < len(self.names) - 1)
