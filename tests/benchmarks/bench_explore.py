"""Exploration at SGCC size, side by side with the plain library doing the same sum.

Run by hand: ``python tests/benchmarks/bench_explore.py [customers] [days]`` (default the full
42,372 x 1,035 with a quarter of the readings missing). Prints seconds for each exploration
function and, where a plain numpy/pandas call computes the same thing, its seconds and the
ratio. Pandas' pairwise correlation is timed on a slice of customers only (it is far slower),
and that ratio is scaled to the full size.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from core import explore
from core.dataset import ConsumptionData


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def main(n_customers: int = 42_372, n_days: int = 1_035) -> None:
    rng = np.random.default_rng(0)
    kwh = rng.gamma(2.0, 4.0, (n_customers, n_days)).astype(np.float32)
    kwh[rng.random(kwh.shape, dtype=np.float32) < 0.25] = np.nan
    labels = (rng.random(n_customers) < 0.085).astype(np.int8)
    days = pd.date_range("2014-01-01", periods=n_days, freq="D")
    data = ConsumptionData([f"{i:032x}" for i in range(n_customers)], days, kwh, labels)
    normal = kwh[labels == 0]
    print(f"{n_customers} customers x {n_days} days")

    _, ours = timed(explore.daily_means, data, "both")
    _, plain = timed(lambda: (np.nanmean(normal, axis=0), np.nanmean(kwh[labels == 1], axis=0)))
    print(f"daily means (both)          {ours:7.2f} s   np.nanmean {plain:7.2f} s", end="")
    print(f"   x{ours / plain:.2f}")

    for name, fn, kwargs in [
        ("period means (month)", explore.period_means, {"by": "month"}),
        ("weekday profile (4 weeks)", explore.weekday_profile, {}),
        ("autocorrelation (both)", explore.autocorrelation, {}),
        ("STL (both, period 7)", explore.decompose, {}),
        ("histogram (both, clip)", explore.consumption_histogram, {}),
        ("histogram (both, log)", explore.consumption_histogram, {"log_bins": True}),
    ]:
        _, seconds = timed(fn, data, "both", **kwargs)
        print(f"{name:27s} {seconds:7.2f} s")

    _, ours = timed(explore.day_correlation, data, "normal", days=None, missing="mean_fill")
    filled = np.where(np.isnan(normal), np.nanmean(normal, axis=0), normal)
    _, plain = timed(np.corrcoef, filled, rowvar=False)
    print(
        f"correlation all days, mean-fill (normal) {ours:7.2f} s   np.corrcoef {plain:7.2f} s"
        f"   x{ours / plain:.2f}"
    )

    _, ours = timed(explore.day_correlation, data, "normal", days=None, missing="pairwise")
    part = 2_000
    _, pandas_part = timed(pd.DataFrame(normal[:part]).corr, min_periods=3)
    pandas_full = pandas_part * len(normal) / part
    print(
        f"correlation all days, pairwise (normal)  {ours:7.2f} s   pandas .corr on {part} "
        f"customers {pandas_part:.2f} s (~{pandas_full:.0f} s at full size)   "
        f"x{ours / pandas_full:.2f}"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
