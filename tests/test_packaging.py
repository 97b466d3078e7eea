"""The packaged executable: built with PyInstaller from build_scripts/etd-desktop.spec, then run.

Slow (a build takes 10-20 minutes on two cores): skipped unless ``ETD_RUN_SLOW=1`` is set or
the run asks for the mark (``pytest -m slow tests/test_packaging.py``). The build goes to a
temporary folder, so a dist/ made by hand is left alone; ``ETD_FROZEN_BUILD=path/to/etd-desktop``
tests an executable built before instead of building one.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mlp", "cnn_lstm", "conv_lstm", "gbm")


def _slow_tests_asked(config) -> bool:
    marks = config.getoption("markexpr", default="") or ""
    return os.environ.get("ETD_RUN_SLOW") == "1" or ("slow" in marks and "not slow" not in marks)


def _build_script():
    spec = importlib.util.spec_from_file_location("etd_build", ROOT / "build_scripts" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def frozen(request, tmp_path_factory):
    """Path of the built executable (one build for the whole module)."""
    if not _slow_tests_asked(request.config):
        pytest.skip("builds the executable (10-20 min): set ETD_RUN_SLOW=1 or run -m slow")
    build = _build_script()
    ready = os.environ.get("ETD_FROZEN_BUILD")
    if ready:  # an executable built before, e.g. dist/etd-desktop/etd-desktop: test that one
        return Path(ready).resolve()
    out = tmp_path_factory.mktemp("pyinstaller")
    code, seconds = build.build(dist=out / "dist", work=out / "work")
    assert code == 0, "PyInstaller failed; its output is above"
    exe = build.executable(out / "dist")
    size = build.folder_size(exe.parent)
    print(f"\nbuild {seconds / 60:.1f} min, {size / 2**20:,.0f} MiB: {exe}")
    return exe


def _run(exe: Path, *args: str, env: dict | None = None, timeout: float = 900):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else clean,
        cwd=exe.parent,
    )


def test_the_frozen_executable_prints_the_installed_version(frozen):
    done = _run(frozen, "--version", timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"etd-desktop {metadata.version('etd-workbench')}"


def test_the_frozen_self_test_passes_every_step(frozen):
    done = _run(frozen, "--self-test")
    print(done.stdout)

    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert "packaged build" in lines[0]
    assert not [line for line in lines if line.startswith(("[FAILED]", "[skipped]"))]
    for model in MODELS:
        assert any(line.startswith(f"[ok] train {model}, 1 epoch") for line in lines), model
    assert any(line.startswith("[ok] render the data page offscreen") for line in lines)
    assert lines[-1].startswith("[ok] all ") and "steps passed; total" in lines[-1]


def test_the_build_carries_the_data_files_and_qt_plugins_it_needs(frozen):
    internal = frozen.parent / "_internal"

    assert (internal / "imblearn" / "VERSION.txt").is_file()
    # the metadata behind core.__version__: a .dist-info, or the source tree's .egg-info when
    # the project is installed in editable mode
    assert list(internal.glob("etd_workbench*.*-info"))
    assert list(internal.rglob("resources/icon.png"))
    if sys.platform.startswith("linux"):
        plugins = {p.name for p in internal.rglob("plugins/*/*.so")}
        assert {"libqoffscreen.so", "libqxcb.so", "libqsvgicon.so"} <= plugins
        assert not list(internal.rglob("*QtWebEngine*")), "QtWebEngine should be left out"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux's")
def test_without_a_display_the_executable_says_what_to_do(frozen):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    done = _run(frozen, env=env, timeout=120)

    assert done.returncode == 1
    assert "no display was found" in done.stderr
    assert "--self-test" in done.stderr
