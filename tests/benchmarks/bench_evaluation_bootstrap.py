"""Bootstrap intervals of ROC-AUC and PR-AUC: the vectorised version against a plain loop.

Run by hand: ``python tests/benchmarks/bench_evaluation_bootstrap.py``. Target: 1,000
stratified replicates for 10,000 customers in under a second. The plain loop calls
scikit-learn's ``roc_auc_score`` and ``average_precision_score`` on each resample; it is timed
on 50 replicates and scaled to 1,000.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn import metrics as skm

from core.evaluation import bootstrap_intervals

N_CUSTOMERS = 10_000
N_BOOT = 1000
LOOP_SAMPLE = 50


def plain_loop(y, s, n_boot, seed=0):
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for _ in range(n_boot):
        rows = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        skm.roc_auc_score(y[rows], s[rows])
        skm.average_precision_score(y[rows], s[rows])


def main() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(N_CUSTOMERS) < 0.085).astype(int)
    s = np.clip(rng.normal(0.3 + 0.2 * y, 0.15), 0, 1)
    bootstrap_intervals(y, s, n_boot=10)  # warm the allocator

    began = time.perf_counter()
    bootstrap_intervals(y, s, n_boot=N_BOOT)
    ours = time.perf_counter() - began

    began = time.perf_counter()
    plain_loop(y, s, LOOP_SAMPLE)
    loop = (time.perf_counter() - began) * N_BOOT / LOOP_SAMPLE

    print(f"{N_CUSTOMERS:,} customers, {N_BOOT:,} stratified replicates")
    verdict = "ok" if ours < 1 else "SLOW"
    print(f"  vectorised (core.evaluation): {ours:6.2f} s   target < 1 s: {verdict}")
    print(f"  plain scikit-learn loop:      {loop:6.2f} s   (timed on {LOOP_SAMPLE}, scaled)")
    print(f"  ratio: {loop / ours:5.1f}x faster")


if __name__ == "__main__":
    main()
