"""The main window: navigation, shortcuts, status bar, project menu, settings, drag and drop."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from core.io import write_wide_csv
from etd_desktop.pages import PAGES
from etd_desktop.settings import Settings


def test_navigation_follows_the_workflow(window):
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles == [
        "1  Data",
        "2  Explore",
        "3  Clean",
        "4  Balance",
        "5  Train",
        "6  Evaluate",
        "7  Customers",
    ]
    assert [e.key for e in PAGES] == list(window.pages)


def test_ctrl_number_switches_pages(window, qtbot):
    for number, entry in enumerate(PAGES, start=1):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page_key == entry.key


def test_placeholder_pages_say_what_comes_there(qtbot):
    from etd_desktop.pages.placeholder import TrainPlaceholder
    from etd_desktop.workspace import Workspace

    page = TrainPlaceholder(Workspace())
    qtbot.addWidget(page)
    assert "Train a model after cleaning" in page.empty.heading.text()


def test_pages_are_built_when_first_shown(window):
    assert set(window.pages.built()) == {"data"}  # the window shows before the rest loads
    window.show_page("clean")
    assert set(window.pages.built()) == {"data", "clean"}


def test_first_launch_offers_file_demo_and_project(window):
    page = window.pages["data"]
    assert page.welcome.isVisible()
    texts = [
        b.text()
        for b in (page.welcome.file_button, page.welcome.demo_button, page.welcome.project_button)
    ]
    assert "data file" in texts[0] and "demo" in texts[1] and "project" in texts[2]
    assert window.windowTitle() == "ETD workbench"
    assert window.project_label.text() == "No project"


def test_demo_opens_in_a_worker_and_fills_the_status_bar(window, qtbot, wait_idle):
    task = window.open_demo(n_customers=150)
    assert window.task_bar.isVisible()  # the running task shows with its Stop button
    wait_idle(window)
    assert task.outcome == "finished"
    assert window.workspace.data.n_customers == 150
    from etd_desktop.workspace import _SUMMARIES

    assert window.workspace.data in _SUMMARIES  # counted in the worker, not the GUI thread
    assert "150 customers x 1,035 days" in window.data_label.text()
    assert window.project_label.text() == "unsaved: use Project > Save as"
    assert window.windowTitle().startswith("unsaved")
    assert not window.task_bar.isVisible()


def test_escape_stops_the_running_task(window, qtbot, wait_idle):
    task = window.open_demo(n_customers=20_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_idle(window)
    assert task.outcome in ("stopped", "finished")  # finished only on a very fast machine
    if task.outcome == "stopped":
        assert window.workspace.data is None


def test_save_as_then_reopen_keeps_the_data(window, qtbot, tmp_path, demo_small, wait_idle):
    window.workspace.set_data(demo_small, "demo")
    path = tmp_path / "study.etdproj"
    window.save_project_as(path)
    wait_idle(window)
    assert window.workspace.project is not None
    assert window.windowTitle().startswith("study.etdproj")
    assert window.project_label.text() == "Project: study.etdproj"
    assert len(window.workspace.project.list_datasets()) == 1
    assert Settings().recent_projects() == [str(path.resolve())]

    window.close_project()
    assert window.workspace.data is None and window.windowTitle() == "ETD workbench"
    window.open_project(path)
    wait_idle(window)
    data = window.workspace.data
    assert data.n_customers == demo_small.n_customers
    np.testing.assert_array_equal(np.isnan(data.kwh), np.isnan(demo_small.kwh))


def test_new_project_stores_each_data_set_opened(window, qtbot, tmp_path, demo_small, wait_idle):
    window.new_project(tmp_path / "new.etdproj")
    wait_idle(window)
    window.workspace.set_data(demo_small, "first")
    window.workspace.wait_for_writes()
    wait_idle(window)
    rows = window.workspace.project.list_datasets()
    assert [r["name"] for r in rows] == ["first"]
    assert window.workspace.dataset_id == rows[0]["id"]


def test_an_unreadable_project_shows_a_readable_error(window, qtbot, tmp_path, wait_idle):
    bad = tmp_path / "broken.etdproj"
    bad.write_text("not a project")
    window.open_project(bad)
    wait_idle(window)
    assert window.error_boxes, "an error box is shown"
    box = window.error_boxes[-1]
    assert "broken.etdproj" in box.text()
    assert "Internal error" not in box.text()
    assert box.detailedText()  # details on demand
    box.close()


def test_unexpected_errors_say_internal_error_with_the_traceback(window):
    box = window.report_error("Test", ValueError("boom"), "Traceback (most recent call last)")
    assert box.text().startswith("Internal error: ValueError: boom")
    assert "Traceback" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Critical
    box.close()


def test_dropping_a_file_opens_the_import_preview(window, qtbot, tmp_path, demo_small):
    path = tmp_path / "dropped.csv"
    write_wide_csv(demo_small, path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.import_dialog is not None, timeout=5000)
    assert window.import_dialog.path == path
    window.import_dialog.reject()


def test_geometry_and_recent_files_persist_in_the_private_settings(window, private_settings):
    window.resize(1234, 777)
    window.close()
    assert Settings().window_geometry() is not None
    s = Settings()
    s.add_recent_data_file(private_settings / "a.csv")
    s.add_recent_data_file(private_settings / "b.csv")
    s.add_recent_data_file(private_settings / "a.csv")
    assert [p.split("/")[-1] for p in Settings().recent_data_files()] == ["a.csv", "b.csv"]
    assert str(private_settings) in Settings()._q.fileName()


def test_dark_palette_gives_dark_plots(qapp, qtbot, demo_small):
    from etd_desktop import theme
    from etd_desktop.main_window import MainWindow

    original = qapp.palette()
    try:
        qapp.setPalette(theme.dark_palette())
        theme.apply_plot_defaults()
        assert theme.is_dark()
        win = MainWindow(detect_device=False)
        qtbot.addWidget(win)
        win.workspace.set_data(demo_small, "demo")
        page = win.show_page("explore")
        page.compute()
        qtbot.waitUntil(lambda: bool(page.results), timeout=20_000)
        background = page.chart.graphics.backgroundBrush().color()
        assert background.lightness() < 80
        win.close()
    finally:
        qapp.setPalette(original)
        theme.apply_plot_defaults()


@pytest.mark.parametrize("key", ["Ctrl+O", "Ctrl+N", "Ctrl+Shift+S", "Esc"])
def test_usual_shortcuts_exist(window, key):
    shortcuts = [a.shortcut().toString() for a in window.actions()]
    assert key in shortcuts


def test_device_check_reports_cpu_or_a_gpu_name(qtbot):
    from etd_desktop.main_window import MainWindow

    win = MainWindow(detect_device=True)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.device_found, timeout=20_000) as blocker:
        win.show()
    assert blocker.args[0] == "CPU" or blocker.args[0].startswith("GPU: ")
    assert win.device_label.text() == f"Compute: {blocker.args[0]}"
    QApplication.processEvents()


def test_a_page_that_fails_to_build_says_so_in_its_place(window, monkeypatch):
    def broken(entry):
        raise ImportError("cannot import name 'something' from 'a module'")

    monkeypatch.setattr(window, "_make_page", broken)
    window.nav.setCurrentRow(4)  # Train, not built yet
    slot = window.pages.slots["train"]
    assert window.stack.currentWidget() is slot  # the old page is not left up
    assert slot.failure is not None and "could not be opened" in slot.failure.text()
    assert (
        window.error_boxes and "Train page could not open" in window.error_boxes[-1].windowTitle()
    )


def _a_run_without_project(window):
    book = window.workspace.runs
    run_id = book.new_memory_run({"protocol": "honest"})
    book.add_memory_result(run_id, "gbm", {"metrics": {}}, None, None)


def test_closing_with_unsaved_work_asks_first_and_no_keeps_the_window(
    window, demo_small, monkeypatch
):
    import etd_desktop.main_window as main_window

    window.workspace.set_data(demo_small, "demo")
    _a_run_without_project(window)
    asked = []

    def answer_no(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(main_window, "_someone_to_ask", lambda: True)
    monkeypatch.setattr(QMessageBox, "question", answer_no)
    window.quit_asking()  # Project > Quit
    assert window.isVisible()  # nothing lost: the user said no
    assert "No project file holds the data set and 1 training run" in asked[0]
    assert "1 training run made without a project" in asked[0]
    window.close()  # a close from code (screenshots, tests) never waits for an answer
    assert len(asked) == 1 and not window.isVisible()


def test_save_as_stores_runs_trained_before_the_project_existed(
    window, demo_small, tmp_path, wait_idle
):
    from core.project import Project

    window.workspace.set_data(demo_small, "demo")
    window.show_page("evaluate")
    _a_run_without_project(window)
    window.save_project_as(tmp_path / "late.etdproj")
    wait_idle(window)
    assert window.current_page_key == "evaluate"  # saving does not move the user away
    assert window.unsaved_work() == []  # nothing is left only in memory
    runs = window.workspace.runs.runs()
    assert len(runs) == 1 and runs[0]["id"] > 0  # listed once, from the project now
    window.workspace.close_project()
    with Project.open(tmp_path / "late.etdproj", read_only=True) as project:
        stored = project.list_runs()
    assert len(stored) == 1 and list(stored[0]["results"]) == ["gbm"]


def test_the_first_window_fits_a_small_or_scaled_screen():
    from PySide6.QtCore import QRect, QSize

    from etd_desktop.main_window import first_size

    class Screen:
        def __init__(self, w, h):
            self._rect = QRect(0, 0, w, h)

        def availableGeometry(self):  # noqa: N802 - mirrors QScreen
            return self._rect

    assert first_size(Screen(2560, 1440)) == QSize(1400, 900)
    small = first_size(Screen(1066, 666))  # 1600 x 1000 pixels at a 150% scale
    assert small.width() <= 1066 and small.height() <= 666
    assert first_size(None) == QSize(1400, 900)
