"""Saving and loading a full-size data set in a project file, against plain np.save / np.load.

Run by hand: ``/tmp/etdvenv/bin/python tests/benchmarks/bench_project.py [--customers N]``.
Prints wall time and peak Python-side memory (tracemalloc: numpy buffers and Python objects;
SQLite's own page cache, a few MB, is not counted) for:

- np.save / np.load of the matrix to a plain ``.npy`` file (the floor to compare against; the
  ratios use np.save followed by fsync, since a project commit waits for the disk too);
- Project.add_dataset / load_dataset (incremental blob I/O, 16 MiB chunks, 64 KiB pages);
- the naive SQLite way: np.save into bytes, insert them as one parameter, select them back.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData
from core.project import Project


def sgcc_like(n_customers: int, n_days: int) -> ConsumptionData:
    """Random readings with SGCC's shape of gaps: 25% missing, 13% zero."""
    rng = np.random.default_rng(0)
    kwh = rng.gamma(1.5, 6.0, size=(n_customers, n_days)).astype(np.float32)
    cells = rng.random(size=kwh.shape, dtype=np.float32)
    kwh[cells < 0.25] = np.nan
    kwh[(cells >= 0.25) & (cells < 0.38)] = 0.0
    ids = [f"{i:032X}" for i in rng.permutation(n_customers * 3)[:n_customers]]
    labels = (rng.random(n_customers) < 0.085).astype(np.int8)
    days = pd.date_range("2014-01-01", periods=n_days, freq="D")
    return ConsumptionData(ids, days, kwh, labels, source={"name": "bench", "sha256": "0" * 64})


def measured(step, repeat: int = 1):
    """Result, best wall time of ``repeat`` calls, and the peak traced memory of one call."""
    best = float("inf")
    for _ in range(repeat):
        result = None  # let the previous result go before the next call allocates its own
        tracemalloc.start()
        tracemalloc.reset_peak()
        start = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - start)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, best, peak


def row(label: str, seconds: float, peak: int, floor: float | None = None) -> None:
    ratio = f"{seconds / floor:6.1f}x" if floor else "       "
    print(f"  {label:<44} {seconds:7.2f} s {ratio}  peak {peak / 1e6:8.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=42372)
    parser.add_argument("--days", type=int, default=1035)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive SQLite way")
    args = parser.parse_args()

    data = sgcc_like(args.customers, args.days)
    matrix_mb = data.kwh.nbytes / 1e6
    print(f"{args.customers:,} customers x {args.days:,} days float32 = {matrix_mb:.0f} MB")

    with tempfile.TemporaryDirectory(prefix="etd-bench-") as folder:
        folder = Path(folder)
        npy = folder / "matrix.npy"
        _, save_floor, peak = measured(lambda: np.save(npy, data.kwh))
        print("save")
        row("np.save to a plain file (no fsync)", save_floor, peak)

        def save_and_sync():
            with open(folder / "synced.npy", "wb") as handle:
                np.save(handle, data.kwh)
                handle.flush()
                os.fsync(handle.fileno())

        _, save_floor, peak = measured(save_and_sync)
        row("np.save + fsync (as durable as a commit)", save_floor, peak)

        path = folder / "bench.etdproj"
        project = Project.create(path)
        dataset_id, seconds, peak = measured(lambda: project.add_dataset(data))
        row("Project.add_dataset (incremental blob I/O)", seconds, peak, save_floor)
        copy = folder / "copy.etdproj"
        _, seconds, peak = measured(lambda: project.save_as(copy, switch=False))
        row("Project.save_as (SQLite backup API)", seconds, peak, save_floor)
        copy.unlink()
        project.close()

        naive = folder / "naive.sqlite"
        if not args.skip_naive:
            conn = sqlite3.connect(naive, isolation_level=None)
            conn.execute("PRAGMA page_size = 65536")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, data BLOB)")

            def naive_save():
                buffer = io.BytesIO()
                np.save(buffer, data.kwh, allow_pickle=False)
                conn.execute("INSERT INTO a (data) VALUES (?)", (buffer.getvalue(),))

            _, seconds, peak = measured(naive_save)
            row("naive: np.save to bytes + one INSERT", seconds, peak, save_floor)
            conn.close()

        # Loads read from the page cache; flush the writes first so that the disk's catching
        # up with them does not land in one load's time and not another's. Best of three.
        os.sync()
        print("load (best of 3)")
        loaded, load_floor, peak = measured(lambda: np.load(npy, allow_pickle=False), 3)
        row("np.load from a plain file", load_floor, peak)
        del loaded

        def project_load():
            with Project.open(path, read_only=True) as reopened:
                return reopened.load_dataset(dataset_id)

        back, seconds, peak = measured(project_load, 3)
        row("Project.open + load_dataset (with checks)", seconds, peak, load_floor)
        assert np.array_equal(back.kwh, data.kwh, equal_nan=True)
        assert list(back.customer_ids) == list(data.customer_ids)
        del back

        if not args.skip_naive:
            conn = sqlite3.connect(naive)

            def naive_load():
                (blob,) = conn.execute("SELECT data FROM a").fetchone()
                return np.load(io.BytesIO(blob), allow_pickle=False)

            back, seconds, peak = measured(naive_load, 3)
            row("naive: one SELECT + np.load from bytes", seconds, peak, load_floor)
            del back
            conn.close()

        print(
            f"file sizes: project {path.stat().st_size / 1e6:.1f} MB, "
            f"plain npy {npy.stat().st_size / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
