"""Fixtures for the desktop tests: offscreen Qt, private settings, small data, a window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from core.demo import make_demo  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_settings(tmp_path_factory):
    """Keep QSettings out of the real user's configuration for the whole session."""
    from etd_desktop.settings import SETTINGS_DIR_ENV, use_settings_folder

    folder = tmp_path_factory.mktemp("settings")
    os.environ[SETTINGS_DIR_ENV] = str(folder)
    use_settings_folder(folder)
    return folder


@pytest.fixture(autouse=True)
def clean_settings(private_settings, qapp):
    from etd_desktop.settings import Settings
    from etd_desktop.theme import apply_plot_defaults

    Settings()._q.clear()
    apply_plot_defaults()
    yield


@pytest.fixture(scope="session")
def demo_small():
    """120 customers x 1,035 days with SGCC-like clustered gaps (most fail the 3% filter)."""
    return make_demo(n_customers=120, seed=3)


@pytest.fixture(scope="session")
def demo_dense():
    """200 customers x 400 days with 1% random gaps: the 3% filter keeps most of them."""
    return make_demo(n_customers=200, n_days=400, missing_rate=0.01, zero_rate=0.005, seed=1)


@pytest.fixture
def window(qtbot):
    from etd_desktop.main_window import MainWindow

    win = MainWindow(detect_device=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()  # stops the tasks, finishes project writes, closes the project


@pytest.fixture
def wait_idle(qtbot):
    """``wait_idle(window)``: wait until no task of the window runs and signals are in."""

    def wait(win, timeout=30_000):
        qtbot.waitUntil(lambda: not win.tasks.running, timeout=timeout)
        qtbot.wait(20)

    return wait
