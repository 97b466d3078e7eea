"""The main window: workflow navigation on the left, the pages, menus and the status bar."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from etd_desktop import resources
from etd_desktop.messages import show_error
from etd_desktop.pages import PAGES
from etd_desktop.pages.base import Page
from etd_desktop.settings import Settings
from etd_desktop.widgets.task_bar import TaskBar
from etd_desktop.workers import Task
from etd_desktop.workspace import PROJECT_SUFFIX, Workspace, make_demo_data, summary_of

if TYPE_CHECKING:  # pandas loads with it; the window shows first
    from core.dataset import ConsumptionData

log = logging.getLogger(__name__)

APP_TITLE = "ETD workbench"
DEMO_CUSTOMERS = 2000
DATA_FILTER = (
    "Data files and projects (*.csv *.tsv *.txt *.xlsx *.xlsm *.parquet *.pq *"
    + PROJECT_SUFFIX
    + ");;Data files (*.csv *.tsv *.txt *.xlsx *.xlsm *.parquet *.pq);;Projects (*"
    + PROJECT_SUFFIX
    + ");;All files (*)"
)
PROJECT_FILTER = f"Workbench projects (*{PROJECT_SUFFIX});;All files (*)"


class MainWindow(QMainWindow):
    """One workspace, its pages and the actions on it."""

    device_found = Signal(str)

    def __init__(self, workspace: Workspace | None = None, *, detect_device: bool = True):
        super().__init__()
        self.workspace = workspace if workspace is not None else Workspace(parent=self)
        self.tasks = self.workspace.tasks
        self.settings = Settings()
        self.error_boxes: list[QMessageBox] = []
        self.import_dialog = None
        self.device = "CPU (checking for a GPU...)"

        self.setWindowIcon(QIcon(str(resources.icon_path())))
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(960, 640))
        self._build_pages()
        self._build_status_bar()
        self._build_menus()
        self._connect_data_page()

        self.workspace.project_changed.connect(self._update_labels)
        self.workspace.data_changed.connect(self._update_labels)
        self.workspace.cleaned_changed.connect(self._update_labels)
        self.workspace.failed.connect(self.report_error)
        self._update_labels()

        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(first_size(self.screen()))
        if detect_device:
            # After the first paint: the window must not wait for the GPU check.
            QTimer.singleShot(0, self._start_device_check)

    # building ------------------------------------------------------------------------------
    def _build_pages(self) -> None:
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(170)
        self.nav.setSpacing(2)
        font = self.nav.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.nav.setFont(font)
        self.stack = QStackedWidget()
        self.pages = _Pages(self)
        for number, entry in enumerate(PAGES, start=1):
            slot = _PageSlot(entry)
            self.pages.slots[entry.key] = slot
            self.stack.addWidget(slot)
            item = QListWidgetItem(f"{number}  {entry.title}")
            item.setData(Qt.ItemDataRole.UserRole, entry.key)
            item.setToolTip(f"{entry.tip} (Ctrl+{number})" if number < 10 else entry.tip)
            item.setSizeHint(QSize(150, 38))
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._on_nav_row)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.setCurrentRow(0)

    def _make_page(self, entry) -> Page:
        page = entry.load()(self.workspace)
        page.go_to = self.show_page
        page.setObjectName(f"page_{entry.key}")
        return page

    def _connect_data_page(self) -> None:
        data_page = self.pages.get("data")
        welcome = getattr(data_page, "welcome", None)
        if welcome is None:
            return
        welcome.open_file_clicked.connect(self.open_dialog)
        welcome.open_demo_clicked.connect(self.open_demo)
        welcome.open_project_clicked.connect(self.open_project_dialog)
        welcome.recent_clicked.connect(self.open_path)
        data_page.open_button.clicked.connect(self.open_dialog)
        self._refresh_welcome()

    def _refresh_welcome(self) -> None:
        welcome = getattr(self.pages.get("data"), "welcome", None)
        if welcome is not None:
            welcome.set_recent(self.settings.recent_projects() + self.settings.recent_data_files())

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.project_label = QLabel()
        self.data_label = QLabel()
        self.device_label = QLabel(f"Compute: {self.device}")
        self.device_label.setToolTip("The device training would use")
        self.task_bar = TaskBar(self.tasks)
        bar.addWidget(self.project_label)
        bar.addWidget(_separator())
        bar.addWidget(self.data_label, 1)
        bar.addPermanentWidget(self.task_bar)
        bar.addPermanentWidget(self.device_label)

    def _action(self, text, slot, shortcut=None, tip="") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&Project")
        self.new_action = self._action("&New project...", self.new_project_dialog, "Ctrl+N")
        self.open_action = self._action("&Open data file or project...", self.open_dialog, "Ctrl+O")
        self.demo_action = self._action("Open the &demo data", self.open_demo)
        self.save_as_action = self._action(
            "Save project &as...", self.save_as_dialog, "Ctrl+Shift+S"
        )
        self.close_action = self._action("&Close project", self.close_project, "Ctrl+W")
        menu.addAction(self.new_action)
        menu.addAction(self.open_action)
        menu.addAction(self.demo_action)
        self.recent_menu = menu.addMenu("&Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu.addSeparator()
        menu.addAction(self.save_as_action)
        menu.addAction(self.close_action)
        menu.addSeparator()
        menu.addAction(self._action("&Quit", self.quit_asking, "Ctrl+Q"))

        view = self.menuBar().addMenu("&View")
        for number, entry in enumerate(PAGES, start=1):
            shortcut = f"Ctrl+{number}" if number < 10 else None
            view.addAction(
                self._action(entry.title, lambda _=False, k=entry.key: self.show_page(k), shortcut)
            )

        task_menu = self.menuBar().addMenu("&Task")
        self.stop_action = self._action("&Stop the running task", self.stop_tasks, "Esc")
        task_menu.addAction(self.stop_action)

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About", self._about))

    # pages ---------------------------------------------------------------------------------
    def show_page(self, key: str) -> Page:
        keys = [entry.key for entry in PAGES]
        self.nav.setCurrentRow(keys.index(key))
        return self.pages[key]

    @property
    def current_page_key(self) -> str:
        return PAGES[self.stack.currentIndex()].key

    def _on_nav_row(self, row: int) -> None:
        if row < 0:
            return
        slot = self.pages.slots[PAGES[row].key]
        try:
            page = slot.ensure(self)  # built on first visit
        except Exception as exc:  # a page that cannot be built must not leave the old one up
            details = traceback.format_exc()
            log.exception("the %s page could not be built", slot.entry.title)
            slot.show_failure(exc)
            self.stack.setCurrentIndex(row)
            self.report_error(f"The {slot.entry.title} page could not open", exc, details)
            return
        self.stack.setCurrentIndex(row)
        page.on_shown()

    # status --------------------------------------------------------------------------------
    def _update_labels(self) -> None:
        ws = self.workspace
        if ws.project_path is not None:
            self.project_label.setText(f"Project: {ws.project_path.name}")
            self.project_label.setToolTip(str(ws.project_path))
            title = f"{ws.project_path.name} - {APP_TITLE}"
        elif ws.data is not None:
            self.project_label.setText("unsaved: use Project > Save as")
            self.project_label.setToolTip("The work is in memory only")
            title = f"unsaved - {APP_TITLE}"
        else:
            self.project_label.setText("No project")
            self.project_label.setToolTip("")
            title = APP_TITLE
        self.setWindowTitle(title)

        if ws.data is None:
            self.data_label.setText("No data set")
        else:
            d = ws.data
            text = f"Data: {ws.data_name}, {d.n_customers:,} customers x {d.n_days:,} days"
            if ws.cleaned is not None:
                text += f"; cleaned: {ws.cleaned.data.n_customers:,} kept"
            self.data_label.setText(text)
        self.save_as_action.setEnabled(ws.data is not None or ws.project is not None)
        self.close_action.setEnabled(ws.data is not None or ws.project is not None)

    def _start_device_check(self) -> None:
        from etd_desktop.device import detect_device

        task = self.tasks.start(Task("Checking the compute device", detect_device))
        task.finished.connect(self.set_device)

    def set_device(self, device: str) -> None:
        self.device = str(device)
        self.device_label.setText(f"Compute: {self.device}")
        self.device_found.emit(self.device)

    def stop_tasks(self) -> None:
        for task in self.tasks.running:
            task.stop()

    def report_error(self, title: str, exc: BaseException, details: str = "") -> QMessageBox:
        box = show_error(self, title, exc, details)
        self.error_boxes.append(box)
        box.finished.connect(lambda _=0, b=box: self._forget_box(b))
        return box

    def _forget_box(self, box: QMessageBox) -> None:
        if box in self.error_boxes:
            self.error_boxes.remove(box)

    # opening things ------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a data file or project", self.settings.last_folder, DATA_FILTER
        )
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """A project opens; anything else goes through the import preview."""
        path = Path(path)
        self.settings.last_folder = path
        if path.suffix.lower() == PROJECT_SUFFIX:
            self.open_project(path)
        else:
            self.start_import(path)

    def start_import(self, path: str | Path) -> None:
        from etd_desktop.pages.importing import ImportDialog

        self.import_dialog = ImportDialog(self.workspace, Path(path), self)
        self.import_dialog.import_requested.connect(self._import_file)
        self.import_dialog.failed.connect(
            lambda exc, details: self.report_error("Cannot read the file", exc, details)
        )
        self.import_dialog.open()

    def _import_file(self, path: Path, options: dict) -> Task:
        task = self.tasks.run(f"Reading {path.name}", read_data_file, path, **options)
        task.finished.connect(lambda data: self._data_read(path, data))
        task.failed.connect(
            lambda exc, details: self.report_error("Cannot read the file", exc, details)
        )
        return task

    def _data_read(self, path: Path, data: ConsumptionData) -> None:
        self.settings.add_recent_data_file(path)
        self._refresh_welcome()
        self._set_data(data, path.name)

    def _set_data(self, data: ConsumptionData, name: str) -> None:
        self.workspace.set_data(data, name)
        self.show_page("data")

    def open_demo(self, n_customers: int = DEMO_CUSTOMERS) -> Task:
        task = self.tasks.run("Making the demo data", make_demo_data, n_customers)
        task.finished.connect(lambda data: self._set_data(data, "demo"))
        task.failed.connect(lambda exc, d: self.report_error("Cannot make the demo data", exc, d))
        return task

    # project -------------------------------------------------------------------------------
    def _ask_project_path(self, title: str, *, save: bool) -> Path | None:
        folder = self.settings.last_folder
        if save:
            path, _ = QFileDialog.getSaveFileName(self, title, folder, PROJECT_FILTER)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, folder, PROJECT_FILTER)
        if not path:
            return None
        path = Path(path)
        if save and path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_suffix(path.suffix + PROJECT_SUFFIX)
        self.settings.last_folder = path
        return path

    def unsaved_work(self) -> list[str]:
        """What would be lost now: work that no project file holds, in the user's words."""
        work = []
        if self.workspace.unsaved:
            cleaned = self.workspace.cleaned is not None
            work.append("the data set and its cleaning" if cleaned else "the data set")
        # Runs trained before any project was open live in memory until Save as stores them.
        memory_runs = [r for r in self.workspace.runs.runs() if r["id"] < 0]
        if memory_runs:
            n = len(memory_runs)
            work.append(f"{n} training run{'s' if n != 1 else ''} made without a project")
        return work

    def confirm_discard(self) -> bool:
        """Ask before unsaved work in memory is dropped."""
        work = self.unsaved_work()
        if not work:
            return True
        hint = "Project > Save as keeps the data set, its cleaning and the training runs."
        if any("run" in w for w in work):
            hint += " Runs are kept only when trained with a project open."
        answer = QMessageBox.question(
            self,
            "Discard the unsaved work?",
            f"No project file holds {' and '.join(work)}. Discard it?\n({hint})",
        )
        return answer == QMessageBox.StandardButton.Yes

    def new_project(self, path: str | Path) -> Task:
        return self._project_call(
            "Cannot create the project", self.workspace.new_project, Path(path)
        )

    def new_project_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = self._ask_project_path("New project", save=True)
        if path is not None:
            self.new_project(path)

    def open_project_dialog(self) -> None:
        path = self._ask_project_path("Open a project", save=False)
        if path is not None:
            self.open_project(path)

    def open_project(self, path: str | Path) -> Task | None:
        if not self.confirm_discard():
            return None
        return self._project_call(
            "Cannot open the project", self.workspace.open_project, Path(path)
        )

    def save_as_dialog(self) -> None:
        path = self._ask_project_path("Save the project as", save=True)
        if path is not None:
            self.save_project_as(path)

    def save_project_as(self, path: str | Path) -> Task:
        task = self._project_call(
            "Cannot save the project", self.workspace.save_project_as, Path(path)
        )
        return task

    def close_project(self) -> None:
        if self.confirm_discard():
            self.workspace.close_project()
            self.show_page("data")

    def _project_call(self, title: str, call, path: Path) -> Task:
        task = call(path)
        task.failed.connect(lambda exc, details: self.report_error(title, exc, details))
        task.finished.connect(lambda _: self._project_done(path, call))
        return task

    def _project_done(self, path: Path, call=None) -> None:
        self.settings.add_recent_project(path)
        self._refresh_welcome()
        if call != self.workspace.save_project_as:
            self.show_page("data")  # a new or opened project starts at its data; a save stays

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        projects = self.settings.recent_projects()
        files = self.settings.recent_data_files()
        for path in projects:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p))
        if projects and files:
            self.recent_menu.addSeparator()
        for path in files:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p))
        if not projects and not files:
            self.recent_menu.addAction("(nothing yet)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear the list", self.settings.clear_recent)

    def _about(self) -> None:
        from etd_desktop import __version__

        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<b>{APP_TITLE}</b> {__version__}<br>Offline electricity-theft detection on "
            "daily smart-meter readings.",
        )

    # drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if len(urls) == 1 and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            # Leave the drop handler first: the import dialog is opened from the event loop.
            path = urls[0].toLocalFile()
            QTimer.singleShot(0, lambda: self.open_path(path))

    # closing -------------------------------------------------------------------------------
    def quit_asking(self) -> None:
        """Project > Quit: like the window's close button, it asks before work is lost."""
        if self.confirm_discard():
            self._asked = True
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Only a close the user made is questioned: the title bar's button arrives spontaneous;
        # Quit asked already; a close() from code (screenshots, tests) must never wait.
        by_user = event.spontaneous() and not getattr(self, "_asked", False)
        if by_user and _someone_to_ask() and not self.confirm_discard():
            event.ignore()  # the user chose to keep the window and the work in it
            return
        self.settings.set_window_geometry(self.saveGeometry())
        self.workspace.wait_for_writes()
        self.tasks.shutdown(10_000)
        if self.workspace.project is not None:
            self.workspace.project.close()
        super().closeEvent(event)


def first_size(screen) -> QSize:
    """1400 x 900 where the screen has room, else most of the screen: at a 150% scale a
    laptop's 1600 x 1000 pixels hold only about 1066 x 666 logical ones."""
    wanted = QSize(1400, 900)
    if screen is None:
        return wanted
    room = screen.availableGeometry().size() * 0.92
    return (
        wanted.boundedTo(room)
        .expandedTo(QSize(960, 640))
        .boundedTo(screen.availableGeometry().size())
    )


def _someone_to_ask() -> bool:
    """False on the headless 'offscreen' platform (tests, screenshots): no one could answer a
    question there, and a modal box would wait forever."""
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName() != "offscreen"


def read_data_file(path: Path, *, drop_labels: bool = False, state=None, **options):
    """``core.io.read_dataset``, then, when the user chose no label column, no labels."""
    import numpy as np

    from core.dataset import UNKNOWN, ImportNote
    from core.io import read_dataset

    data = read_dataset(path, state=state, **options)
    if drop_labels:
        data = data.with_labels(np.full(data.n_customers, UNKNOWN, dtype=np.int8))
        data.notes.append(
            ImportNote(
                "labels_ignored",
                "The label column was ignored as asked: every customer is unlabelled.",
                data.n_customers,
            )
        )
    summary_of(data)
    return data


class _PageSlot(QWidget):
    """Where a page goes in the stack; the page itself is built the first time it is needed,
    so the window shows before the modules of the later pages (and what they import) load."""

    def __init__(self, entry):
        super().__init__()
        self.entry = entry
        self.page: Page | None = None
        self.failure: QLabel | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def ensure(self, window: MainWindow) -> Page:
        if self.page is None:
            self.page = window._make_page(self.entry)
            if self.failure is not None:
                self.failure.deleteLater()
                self.failure = None
            self._layout.addWidget(self.page)
        return self.page

    def show_failure(self, exc: BaseException) -> None:
        """A sentence in place of a page that failed to build; the next visit tries again."""
        if self.failure is None:
            self.failure = QLabel()
            self.failure.setObjectName("page_failure")
            self.failure.setWordWrap(True)
            self.failure.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._layout.addWidget(self.failure)
        self.failure.setText(
            f"The {self.entry.title} page could not be opened ({type(exc).__name__}: {exc}).\n"
            "The other pages and your data are not affected. This is a fault in the workbench: "
            "the log file has the details for a report."
        )


class _Pages:
    """``window.pages[key]``: the page of that key, built on first use."""

    def __init__(self, window: MainWindow):
        self._window = window
        self.slots: dict[str, _PageSlot] = {}

    def __getitem__(self, key: str) -> Page:
        return self.slots[key].ensure(self._window)

    def get(self, key: str, default=None):
        return self[key] if key in self.slots else default

    def __contains__(self, key: str) -> bool:
        return key in self.slots

    def __iter__(self):
        return iter(self.slots)

    def __len__(self) -> int:
        return len(self.slots)

    def built(self) -> dict[str, Page]:
        return {k: s.page for k, s in self.slots.items() if s.page is not None}


def _separator() -> QLabel:
    label = QLabel("|")
    label.setEnabled(False)
    return label
