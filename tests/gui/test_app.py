"""Start-up: argument parsing, --version, and --screenshot rendering the real window."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from etd_desktop.app import build_parser


def test_arguments_are_parsed():
    args = build_parser().parse_args(["data.csv", "--page", "clean:outliers", "--theme", "dark"])
    assert str(args.path) == "data.csv" and args.page == "clean:outliers" and args.theme == "dark"
    args = build_parser().parse_args(["--screenshot", "out.png", "--demo"])
    assert args.demo and str(args.screenshot) == "out.png"


def test_version_prints_and_exits(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("etd-desktop ")


@pytest.mark.parametrize("page", ["data", "clean:outliers"])
def test_screenshot_renders_a_page_of_the_demo(tmp_path, page):
    from etd_desktop.app import main

    out = tmp_path / f"{page.replace(':', '_')}.png"
    assert main(["--screenshot", str(out), "--page", page, "--demo", "--size", "1200x800"]) == 0
    image = QImage(str(out))
    assert image.width() >= 1200 and image.height() >= 800


def test_python_dash_m_runs_the_app(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "etd_desktop", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "etd-desktop" in result.stdout


def test_window_appears_without_importing_tensorflow(tmp_path):
    code = (
        "import sys; from etd_desktop.app import main; main(['--report-first-paint']); "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    lines = result.stdout.split()
    assert "first_paint_s" in lines
    assert lines[-1] == "False"


def test_screenshot_of_a_project_shows_its_data(tmp_path, demo_small):
    from core.project import Project
    from etd_desktop.app import main

    path = tmp_path / "shot.etdproj"
    with Project.create(path) as project:
        project.add_dataset(demo_small, name="stored")
    out = tmp_path / "project.png"
    assert main(["--screenshot", str(out), "--page", "data", "--project", str(path)]) == 0
    assert QImage(str(out)).width() > 0
    assert main(["--screenshot", str(out), "--project", str(tmp_path / "missing.etdproj")]) == 1
