"""Launch to first paint of the desktop window, in a fresh process (run by hand).

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_launch.py [--runs 5]

Each run starts ``python -m etd_desktop --report-first-paint`` (the real window with its pages),
which prints the seconds from interpreter start to the first paint event and quits. Printed
beside it, in the same way: a bare PySide6 QLabel window (the floor any Qt app pays) and
``import tensorflow`` alone (what the window would cost if it imported TensorFlow at start).
Target: the window appears within 2 seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BARE_QT = """
import time; t0 = time.perf_counter()
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([]); w = QLabel("hello")
class F(QObject):
    def eventFilter(self, o, e):
        if e.type() == QEvent.Type.Paint:
            print(f"first_paint_s {time.perf_counter() - t0:.3f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return False
f = F(); w.installEventFilter(f); w.show(); app.exec()
"""
TF_IMPORT = (
    "import time; t0 = time.perf_counter(); import tensorflow; "
    "print(f'first_paint_s {time.perf_counter() - t0:.3f}')"
)


def _run(cmd: list[str]) -> tuple[float, float]:
    """(figure the child printed, wall seconds including interpreter start)."""
    began = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ)
    wall = time.perf_counter() - began
    for line in out.stdout.splitlines():
        if line.startswith("first_paint_s"):
            return float(line.split()[1]), wall
    raise RuntimeError(f"no figure from {cmd}: {out.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--with-tensorflow", action="store_true", help="also time import")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    cases = {
        "etd-desktop window": [sys.executable, "-m", "etd_desktop", "--report-first-paint"],
        "bare PySide6 QLabel": [sys.executable, "-c", BARE_QT],
    }
    if args.with_tensorflow:
        cases["import tensorflow only"] = [sys.executable, "-c", TF_IMPORT]
    results = {}
    for name, cmd in cases.items():
        _run(cmd)  # warm the file cache
        runs = [_run(cmd) for _ in range(args.runs)]
        results[name] = (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
        )
    window = results["etd-desktop window"][1]
    bare = results["bare PySide6 QLabel"][1]
    print(f"{'case':28s} {'in-process s':>13s} {'launch-to-paint s':>18s}")
    for name, (inner, wall) in results.items():
        print(f"{name:28s} {inner:13.3f} {wall:18.3f}")
    print(
        f"window / bare Qt ratio: {window / bare:.2f}; target: launch to paint < 2 s: "
        f"{'met' if window < 2.0 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
