"""Import speed and memory on a full-size SGCC-layout file, side by side with plain pandas.

Run by hand (not collected by the test run)::

    python tests/benchmarks/bench_import.py            # 42,372 x 1,035, about a minute to make
    python tests/benchmarks/bench_import.py --file my.csv --repeat 5

It writes the demo data set at full size in the canonical layout (``CONS_NO``, ``FLAG``,
string-sorted ``2014/1/1`` headers, about 25% empty and 13% zero cells) into a temporary folder,
then in this one process times ``pandas.read_csv(path)`` and ``core.io.read_dataset(path)``
alternately (best of ``--repeat``), and measures the reader's extra memory twice: the peak of
traced allocations (tracemalloc, in a separate untimed pass) and the peak resident set size
sampled from /proc while it runs. Both are shown as multiples of the float32 matrix.

Targets: time at most 1.3 x pandas; extra memory at most about 3 x the matrix.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import pandas as pd

TIME_TARGET = 1.3
MEMORY_TARGET = 3.0


class RssSampler(threading.Thread):
    """Peak resident memory above the level at start, from /proc/self/statm (Linux)."""

    def __init__(self, every: float = 0.005):
        super().__init__(daemon=True)
        self.every = every
        self.base = self.peak = self._rss()
        self._done = threading.Event()

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm") as handle:
                pages = int(handle.read().split()[1])
        except OSError:
            return 0
        import os

        return pages * os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.every)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(0, self.peak - self.base)


def make_file(folder: Path, customers: int, days: int) -> Path:
    from core.demo import make_demo
    from core.io import write_wide_csv

    started = time.perf_counter()
    data = make_demo(n_customers=customers, n_days=days, seed=0)
    made = time.perf_counter() - started
    path = write_wide_csv(data, folder / "sgcc_full.csv", header_style="sgcc")
    print(
        f"made {customers:,} x {days:,} demo data in {made:.1f} s, wrote {path.name} "
        f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started - made:.1f} s; "
        f"missing {data.missing_fraction:.1%}, zero {data.zero_fraction:.1%}"
    )
    return path


def timed(function, *args) -> float:
    gc.collect()
    started = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - started
    del result
    gc.collect()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=42372)
    parser.add_argument("--days", type=int, default=1035)
    parser.add_argument("--file", type=Path, help="time this file instead of making one")
    parser.add_argument("--keep", type=Path, help="write the made file into this folder, keep it")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from core.io import read_dataset

    with tempfile.TemporaryDirectory() as folder:
        if args.file is not None:
            path = args.file
        else:
            target = args.keep or Path(folder)
            target.mkdir(parents=True, exist_ok=True)
            path = make_file(target, args.customers, args.days)

        pandas_times, our_times = [], []
        for _ in range(args.repeat):
            pandas_times.append(timed(pd.read_csv, path))
            our_times.append(timed(read_dataset, path))

        sampler = RssSampler()
        sampler.start()
        data = read_dataset(path)
        rss_extra = sampler.stop()
        matrix = data.kwh.nbytes
        summary = data.summary()
        del data
        gc.collect()

        tracemalloc.start()
        read_dataset(path)
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    ours, theirs = min(our_times), min(pandas_times)
    ratio = ours / theirs
    print(f"data: {summary['customers']:,} customers x {summary['days']:,} days")
    runs = {
        name: ", ".join(f"{t:.2f}" for t in times)
        for name, times in (("pandas", pandas_times), ("ours", our_times))
    }
    print(f"pandas.read_csv   best {theirs:6.2f} s  (runs: {runs['pandas']})")
    print(f"read_dataset      best {ours:6.2f} s  (runs: {runs['ours']})")
    pairs = sorted(o / p for o, p in zip(our_times, pandas_times, strict=True))
    print(f"time ratio        {ratio:6.2f} x pandas, best to best (target <= {TIME_TARGET})")
    print(f"                  {pairs[len(pairs) // 2]:6.2f} x pandas, median of run pairs")
    print(f"float32 matrix    {matrix / 1e6:6.0f} MB")
    print(
        f"peak traced       {traced_peak / 1e6:6.0f} MB = {traced_peak / matrix:.2f} x matrix "
        f"(target <= {MEMORY_TARGET})"
    )
    print(f"peak RSS growth   {rss_extra / 1e6:6.0f} MB = {rss_extra / matrix:.2f} x matrix")


if __name__ == "__main__":
    main()
