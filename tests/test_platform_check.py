"""Start-up checks of the desktop build: the Qt platform libraries, the self-test's report and
its command-line switch. Fast: nothing here trains a model or opens a window."""

from __future__ import annotations

import io
import sys

import pytest

from etd_desktop import platform_check, selftest
from etd_desktop.platform_check import check_platform

X11_SESSION = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}


def loader_missing(*absent: str):
    return lambda library: library not in absent


def test_missing_xcb_cursor_names_the_package_to_install():
    message = check_platform(
        X11_SESSION, platform="linux", can_load=loader_missing("libxcb-cursor.so.0")
    )

    assert message == (
        "etd-desktop cannot open a window: the system library libxcb-cursor.so.0 is missing. "
        "Install it with: sudo apt install libxcb-cursor0 (Debian/Ubuntu) or the matching "
        "package of your distribution."
    )


def test_the_first_missing_library_is_reported_with_its_own_package():
    absent = ("libxkbcommon-x11.so.0", "libxcb-icccm.so.4")
    message = check_platform(X11_SESSION, platform="linux", can_load=loader_missing(*absent))

    assert "libxkbcommon-x11.so.0 is missing" in message
    assert "sudo apt install libxkbcommon-x11-0 " in message


def test_every_library_present_lets_qt_start():
    assert check_platform(X11_SESSION, platform="linux", can_load=lambda lib: True) is None


def test_no_display_suggests_the_self_test_and_offscreen():
    message = check_platform({}, platform="linux", can_load=lambda lib: True)

    assert "no display" in message
    assert "--self-test" in message
    assert "QT_QPA_PLATFORM=offscreen" in message


def test_offscreen_and_wayland_do_not_need_the_xcb_libraries():
    nothing_loads = loader_missing(*platform_check.XCB_LIBRARIES)

    offscreen = {"QT_QPA_PLATFORM": "offscreen"}
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}
    assert check_platform(offscreen, platform="linux", can_load=nothing_loads) is None
    assert check_platform(wayland, platform="linux", can_load=nothing_loads) is None


def test_xcb_asked_for_explicitly_is_checked_even_in_a_wayland_session():
    env = {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    message = check_platform(env, platform="linux", can_load=loader_missing("libxcb-xkb.so.1"))

    assert "libxcb-xkb.so.1 is missing" in message
    assert "libxcb-xkb1" in message


def test_other_systems_are_not_checked():
    assert check_platform({}, platform="win32", can_load=lambda lib: False) is None
    assert check_platform({}, platform="darwin", can_load=lambda lib: False) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check runs on Linux only")
def test_a_missing_library_stops_the_start_with_the_message(monkeypatch, capsys):
    """Through the real loader: ctypes reports the library missing, the start stops with 1."""
    monkeypatch.setattr(platform_check.ctypes, "CDLL", _refuse("libxcb-cursor.so.0"))
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")

    with pytest.raises(SystemExit) as stop:
        platform_check.exit_if_no_window()

    assert stop.value.code == 1
    assert "libxcb-cursor.so.0 is missing" in capsys.readouterr().err


def test_the_loader_finds_a_present_library_and_refuses_an_absent_one(monkeypatch):
    monkeypatch.setattr(platform_check.ctypes, "CDLL", _refuse("libxcb-cursor.so.0"))

    assert platform_check._can_load("libxcb-cursor.so.0") is False
    assert platform_check._can_load("libX11.so.6") is True


def _refuse(absent: str):
    def fake_cdll(name, *args, **kwargs):
        if name == absent:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return object()

    return fake_cdll


# the self-test's report -------------------------------------------------------------------
def test_a_failed_step_is_named_and_the_exit_code_is_one():
    out = io.StringIO()
    report = selftest._Report(out)

    value = report.step("import demo data", lambda: 42)
    report.step("clean", lambda: 1 / 0)
    report.step("score customers", lambda: "never", None)
    code = report.finish()

    lines = out.getvalue().splitlines()
    assert value == 42
    assert code == 1
    assert lines[0].startswith("[ok] import demo data (")
    assert lines[1].startswith("[FAILED] clean (") and "ZeroDivisionError" in lines[1]
    assert "[skipped] score customers: an earlier step it needs failed" in lines
    assert lines[-1].startswith("[FAILED] 2 of 3 steps failed (clean, score customers)")


def test_all_steps_passing_exits_zero():
    out = io.StringIO()
    report = selftest._Report(out)
    report.step("one", lambda: None)
    report.step("two", lambda: "fine")

    assert report.finish() == 0
    assert out.getvalue().splitlines()[-1].startswith("[ok] all 2 steps passed; total ")


def test_the_self_test_switch_runs_the_self_test_and_returns_its_code(monkeypatch):
    from etd_desktop import app

    calls = []
    monkeypatch.setattr(selftest, "run_self_test", lambda: calls.append("ran") or 3)
    monkeypatch.setattr("core.logs.configure_logging", lambda *a, **k: None)

    assert app.main(["--self-test"]) == 3
    assert calls == ["ran"]


def test_version_switch_prints_the_installed_version(capsys):
    from core import __version__
    from etd_desktop import app

    with pytest.raises(SystemExit) as stop:
        app.main(["--version"])

    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"etd-desktop {__version__}"
