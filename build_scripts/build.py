"""Build the one-folder etd-desktop distribution for this platform, then check it.

    python build_scripts/build.py                 build into dist/etd-desktop and self-test it
    python build_scripts/build.py --no-self-test  only build
    python build_scripts/build.py --clean         forget PyInstaller's cache first

Run it with the Python of the environment the application is installed in (for example
``/tmp/etdvenv/bin/python`` or ``.venv/bin/python``): PyInstaller freezes the packages of that
environment. Prints the build time, the size of ``dist/etd-desktop`` and the self-test's
report and time; the exit code is the self-test's (or PyInstaller's when the build failed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build_scripts" / "etd-desktop.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
NAME = "etd-desktop"


def executable(dist: Path = DIST) -> Path:
    """The frozen executable inside the one-folder build of this platform."""
    if sys.platform == "win32":
        return dist / NAME / f"{NAME}.exe"
    if sys.platform == "darwin" and (dist / f"{NAME}.app").exists():
        return dist / f"{NAME}.app" / "Contents" / "MacOS" / NAME
    return dist / NAME / NAME


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def build(*, clean: bool = False, dist: Path = DIST, work: Path = WORK) -> tuple[int, float]:
    """Run PyInstaller on the spec; returns (exit code, seconds)."""
    command = [
        sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
        "--distpath", str(dist), "--workpath", str(work),
    ]  # fmt: skip
    if clean:
        command.append("--clean")
    print("building:", " ".join(command), flush=True)
    began = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT)
    return code, time.perf_counter() - began


def self_test(exe: Path, timeout: float = 900) -> tuple[int, float, str]:
    """Run ``exe --self-test`` with a clean environment; returns (exit code, seconds, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    began = time.perf_counter()
    done = subprocess.run(
        [str(exe), "--self-test"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=exe.parent,
    )
    return done.returncode, time.perf_counter() - began, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--no-self-test", action="store_true", help="build only")
    args = parser.parse_args(argv)

    code, seconds = build(clean=args.clean)
    print(f"build: PyInstaller exit code {code}, {seconds / 60:.1f} min", flush=True)
    if code != 0:
        return code
    exe = executable()
    size = folder_size(exe.parent.parent.parent if sys.platform == "darwin" else exe.parent)
    print(f"built {exe} ({size / 2**20:,.0f} MiB on disk)", flush=True)
    if args.no_self_test:
        return 0

    code, seconds, output = self_test(exe)
    print(output.rstrip())
    print(f"self-test of the build: exit code {code}, {seconds:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
