"""Start-up of the desktop application: arguments, Qt application, theme, the window.

``etd-desktop [FILE]`` opens the window (and the file, data or project, when given);
``--screenshot OUT.png --page NAME`` renders one page and exits (README pictures, tests).
TensorFlow is not imported here nor by any page at start: the window shows in well under two
seconds and the device check runs in a worker afterwards.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

_T0 = time.perf_counter()

THEMES = ("system", "dark", "light")


def build_parser() -> argparse.ArgumentParser:
    from etd_desktop import __version__
    from etd_desktop.pages import page_keys

    parser = argparse.ArgumentParser(
        prog="etd-desktop",
        description="Desktop workbench for electricity-theft detection on daily meter data.",
    )
    parser.add_argument("path", nargs="?", type=Path, help="a data file or project to open")
    parser.add_argument("--version", action="version", version=f"etd-desktop {__version__}")
    parser.add_argument("--project", type=Path, help="open this project file")
    parser.add_argument("--demo", action="store_true", help="start with the demo data")
    parser.add_argument(
        "--screenshot", type=Path, metavar="OUT.png", help="render the window to OUT.png and exit"
    )
    parser.add_argument(
        "--page",
        default="data",
        help=f"page to show: {', '.join(page_keys())}; 'clean:outliers' picks a wizard step",
    )
    parser.add_argument("--theme", choices=THEMES, default="system", help="colour theme")
    parser.add_argument("--size", default="1400x900", help="window size for --screenshot")
    parser.add_argument(
        "--report-first-paint",
        action="store_true",
        help=argparse.SUPPRESS,  # used by tests/benchmarks/bench_launch.py
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation on demo data, without a window, and exit (0 = all passed)",
    )
    return parser


def create_application(theme: str = "system"):
    """The QApplication with names, high-DPI policy and theme set (reused if one exists)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from etd_desktop import resources, settings
    from etd_desktop.theme import apply_theme

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(settings.ORGANISATION)
    app.setApplicationName(settings.APPLICATION)
    app.setApplicationDisplayName("ETD workbench")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(resources.icon_path())))
    settings.configure_from_environment()
    apply_theme(app, theme)
    return app


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from core.logs import configure_logging

    configure_logging()
    if args.self_test:
        from etd_desktop.selftest import run_self_test

        return run_self_test()

    from etd_desktop.platform_check import exit_if_no_window

    exit_if_no_window()  # a missing system library or no display: a sentence, not a Qt abort
    app = create_application(args.theme)

    if args.screenshot is not None:
        from etd_desktop.screenshot import render_screenshot

        return render_screenshot(
            args.screenshot, page=args.page, project=args.project, demo=args.demo, size=args.size
        )

    from etd_desktop.main_window import MainWindow

    window = MainWindow()
    if args.report_first_paint:
        _report_first_paint(window, app)
    window.show()
    log.info("window shown %.2f s after start", time.perf_counter() - _T0)

    if args.project is not None:
        window.open_project(args.project)
    elif args.path is not None:
        window.open_path(args.path)
    elif args.demo:
        window.open_demo()
    if args.page and args.page != "data":
        window.show_page(args.page.split(":")[0])
    return app.exec()


def _report_first_paint(window, app) -> None:
    """Print seconds from interpreter start to the window's first paint, then quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class _FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                print(f"first_paint_s {time.perf_counter() - _T0:.3f}", flush=True)
                QTimer.singleShot(0, app.quit)
            return False

    window._first_paint_filter = _FirstPaint(window)
    window.installEventFilter(window._first_paint_filter)
