"""KNN imputation: our implementation against scikit-learn's KNNImputer, side by side.

Run by hand (not part of the test suite)::

    python tests/benchmarks/bench_knn.py                 # 1,000 and 4,000 customers, then full
    python tests/benchmarks/bench_knn.py --sizes 1000 --full 0

For each size it imputes the same SGCC-like demo readings (about 25% empty, in clustered
stretches) with both, in this process, and prints the times, the speed ratio and the largest
difference between the two results on the cells both define (scikit-learn drops days without
any reading and invents values for customers without readings; ours keeps those NaN). Then it
imputes the full-size demo set (42,372 customers) in a fresh process and prints its time and
the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def sgcc_like(n_customers: int, n_days: int = 1035, seed: int = 0) -> np.ndarray:
    """Demo readings (float32) with the demo generator's SGCC-like gaps; plain numpy if the
    generator is not available."""
    try:
        from core.demo import make_demo
    except ImportError:
        return _numpy_gaps(n_customers, n_days, seed)
    return make_demo(n_customers=n_customers, n_days=n_days, seed=seed).kwh


def _numpy_gaps(n_customers: int, n_days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = rng.lognormal(1.5, 1.0, size=(n_customers, 1))
    season = 1.0 + 0.3 * np.sin(np.arange(n_days) * 2 * np.pi / 365)
    kwh = (level * season * rng.gamma(4.0, 0.25, size=(n_customers, n_days))).astype(np.float32)
    late_start = rng.random(n_customers) < 0.3
    starts = np.where(late_start, rng.integers(0, n_days // 2, n_customers), 0)
    kwh[np.arange(n_days)[None, :] < starts[:, None]] = np.nan
    for row in np.flatnonzero(rng.random(n_customers) < 0.4):
        begin = rng.integers(0, n_days)
        kwh[row, begin : begin + int(rng.exponential(60))] = np.nan
    kwh[rng.random(kwh.shape) < 0.03] = np.nan
    return kwh


def cpu_seconds() -> float:
    """User plus system time of this process, all threads (on a shared machine the wall time
    also counts waiting for a core; this does not)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def warm_up(kwh: np.ndarray) -> None:
    """Compile (or load from numba's cache) every loop for both float types before timing:
    customers as their own donors, and given donors (the path of customers redone)."""
    from core.cleaning import knn_impute

    for values in (kwh[:60].astype(np.float64), kwh[:60]):
        knn_impute(values[:30])
        knn_impute(values[:30], donors=values[30:])


def compare(n_customers: int) -> dict:
    from sklearn.impute import KNNImputer

    from core.cleaning import knn_impute

    kwh = sgcc_like(n_customers)
    values = kwh.astype(np.float64)
    warm_up(kwh)

    started, cpu = time.perf_counter(), cpu_seconds()
    ours = knn_impute(values, 5)
    ours_seconds, ours_cpu = time.perf_counter() - started, cpu_seconds() - cpu

    started = time.perf_counter()
    ours32 = knn_impute(kwh, 5)
    ours32_seconds = time.perf_counter() - started

    started, cpu = time.perf_counter(), cpu_seconds()
    theirs = KNNImputer(n_neighbors=5).fit_transform(values)
    theirs_seconds, theirs_cpu = time.perf_counter() - started, cpu_seconds() - cpu

    kept_days = ~np.isnan(values).all(axis=0)
    with_readings = ~np.isnan(values).all(axis=1)
    ours_kept = ours[:, kept_days][with_readings]
    theirs_kept = theirs[with_readings]
    difference = np.abs(ours_kept - theirs_kept)
    return {
        "customers": n_customers,
        "days": kwh.shape[1],
        "missing_share": round(float(np.isnan(kwh).mean()), 4),
        "sklearn_s": round(theirs_seconds, 2),
        "sklearn_cpu_s": round(theirs_cpu, 2),
        "ours_float64_s": round(ours_seconds, 2),
        "ours_cpu_s": round(ours_cpu, 2),
        "ours_float32_s": round(ours32_seconds, 2),
        "ratio": round(theirs_seconds / ours_seconds, 1),
        "cpu_ratio": round(theirs_cpu / max(ours_cpu, 1e-9), 1),
        "max_difference": float(difference.max()),
        "cells_differing_over_1e-6": int((difference > 1e-6).sum()),
        "max_difference_float32": float(
            np.abs(ours32.astype(np.float64)[:, kept_days][with_readings] - theirs_kept).max()
        ),
    }


def full_size(n_customers: int) -> dict:
    """Run in a fresh process: time and peak memory of the full-size imputation."""
    from core.cleaning import knn_impute

    kwh = sgcc_like(n_customers)
    warm_up(kwh)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), cpu_seconds()
    filled = knn_impute(kwh, 5)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": n_customers,
        "days": kwh.shape[1],
        "missing_share": round(float(np.isnan(kwh).mean()), 4),
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "rss_before_mb": round(before),
        "peak_rss_mb": round(peak),
        "input_mb": round(kwh.nbytes / 2**20),
        "left_nan_cells": int(np.isnan(filled).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 4000])
    parser.add_argument("--full", type=int, default=42372, help="0 to skip the full-size run")
    parser.add_argument("--full-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.full_only:
        print(json.dumps(full_size(args.full_only)))
        return

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    header = (
        f"{'customers':>9} {'missing':>7} {'sklearn s':>9} {'(cpu)':>7} {'ours s':>7} "
        f"{'(cpu)':>6} {'f32 s':>6} {'ratio':>6} {'(cpu)':>6} {'max diff':>9} {'cells>1e-6':>10} "
        f"{'f32 diff':>9}"
    )
    print(header)
    for n in args.sizes:
        r = compare(n)
        print(
            f"{r['customers']:>9,} {r['missing_share']:>7.1%} {r['sklearn_s']:>9.1f} "
            f"{r['sklearn_cpu_s']:>7.1f} {r['ours_float64_s']:>7.2f} {r['ours_cpu_s']:>6.2f} "
            f"{r['ours_float32_s']:>6.2f} {r['ratio']:>5.0f}x {r['cpu_ratio']:>5.0f}x "
            f"{r['max_difference']:>9.1e} {r['cells_differing_over_1e-6']:>10} "
            f"{r['max_difference_float32']:>9.1e}",
            flush=True,
        )

    if args.full:
        command = [sys.executable, __file__, "--full-only", str(args.full)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"full size: {r['customers']:,} x {r['days']:,} ({r['missing_share']:.1%} empty) "
            f"imputed in {r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s of CPU, load average "
            f"{r['load_average']:.1f}); peak memory {r['peak_rss_mb']:,} MB "
            f"(process before imputing {r['rss_before_mb']:,} MB, readings {r['input_mb']} MB); "
            f"{r['left_nan_cells']:,} cells left empty"
        )
        print(f"load average now: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
