"""What every page has: the workspace, a title, and an empty state saying what comes there."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from etd_desktop.workspace import Workspace


class Page(QWidget):
    """A page of the main window.

    Subclasses build their widgets in ``__init__`` and listen to the workspace's signals.
    :meth:`on_shown` runs each time the user navigates to the page. ``go_to`` (set by the
    window) lets a page send the user to another page by key.
    """

    title = ""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.go_to = lambda key: None

    def on_shown(self) -> None:
        """Called when the page becomes visible."""

    def prepare_screenshot(self, step: str = "") -> None:
        """Bring the page into the state the README screenshot shows (``--page key:step``)."""

    def debounced(self, ms: int, slot) -> QTimer:
        """A single-shot timer that calls ``slot`` ``ms`` after its last ``start()``.

        Previews recompute in a worker; restarting the timer on every change of a spin box
        runs one preview when the user pauses, not one per arrow click.
        """
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer


class EmptyState(QWidget):
    """A centred heading, an explanation and optionally one button (``button`` attribute)."""

    def __init__(self, heading: str, text: str, button_text: str = "", parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        self.heading = QLabel(heading)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.heading.setFont(font)
        self.text = QLabel(text)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setFixedWidth(640)
        self.text.setMinimumHeight(self.text.heightForWidth(640))
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button = None
        if button_text:
            self.button = QPushButton(button_text)
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_message(self, heading: str, text: str) -> None:
        self.heading.setText(heading)
        self.text.setText(text)
        self.text.setMinimumHeight(self.text.heightForWidth(640))


class StatefulPage(Page):
    """A page that shows an :class:`EmptyState` until what it needs exists.

    Subclasses put their real content into ``self.content`` and call :meth:`show_content`.
    ``goes_to`` is the key of the page the empty state's button leads to, where the missing
    thing is made.
    """

    def __init__(self, workspace: Workspace, empty: EmptyState, parent=None, goes_to: str = ""):
        super().__init__(workspace, parent)
        self.empty = empty
        if goes_to and empty.button is not None:
            # self.go_to is looked up at click time: the window sets it after construction
            empty.button.clicked.connect(lambda: self.go_to(goes_to))
        self.content = QWidget()
        self._stack = QStackedWidget()
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    def show_content(self, visible: bool) -> None:
        self._stack.setCurrentWidget(self.content if visible else self.empty)

    @property
    def showing_content(self) -> bool:
        return self._stack.currentWidget() is self.content
