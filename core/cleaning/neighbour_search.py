"""The compiled part of KNN imputation: for each customer, walk its donors nearest first.

Kept apart from :mod:`core.cleaning.knn` so that numba is imported only when a KNN imputation
actually runs. The first run on a machine compiles these loops (several seconds); numba caches
the result beside this file, or in the user's cache folder when that is not writable. A frozen
(PyInstaller) build caches into ``<user cache>/etd-workbench/numba``, so only its first launch
compiles. Every loop releases the GIL (``nogil``), so a GUI thread stays responsive while a
worker thread imputes.
"""

from __future__ import annotations

import os
import sys


def _writable_cache_dir() -> None:
    """Point numba's cache at the user's cache folder in a frozen build (its package folder
    there is read-only or temporary). Must run before numba is imported; a cache folder the
    user set in ``NUMBA_CACHE_DIR`` wins."""
    if not getattr(sys, "frozen", False) or "NUMBA_CACHE_DIR" in os.environ:
        return
    from platformdirs import user_cache_dir

    folder = os.path.join(user_cache_dir("etd-workbench"), "numba")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # numba then tries its own fallbacks, and compiles in memory if none works
    os.environ["NUMBA_CACHE_DIR"] = folder


_writable_cache_dir()

import numpy as np  # noqa: E402  (numba reads NUMBA_CACHE_DIR when it is imported)
from numba import njit, prange  # noqa: E402

_CACHE = True
# How many nearest donors are sorted first; most days of a customer find k donors among them.
_FIRST_PREFIX = 64


@njit(cache=_CACHE, nogil=True)
def _sorted_prefix(values, size):  # pragma: no cover - compiled
    """Positions of the ``size`` smallest values, plus all ties of the last, in (value, position)
    order. Because every value up to the cut is included, a longer prefix only adds to the end.
    """
    if size >= values.shape[0]:
        return np.argsort(values, kind="mergesort")
    cut = np.partition(values, size - 1)[size - 1]
    chosen = np.flatnonzero(values <= cut)
    order = np.argsort(values[chosen], kind="mergesort")
    return chosen[order]


@njit(cache=_CACHE, nogil=True, fastmath={"reassoc"})
def _exact_distance(x, y):  # pragma: no cover - compiled
    """Nan-euclidean squared distance in float64, scikit-learn's weighting; inf without common
    days. A difference is NaN exactly when either reading is missing, so one test per day
    suffices; the sum may be reordered (vectorised), which moves only its last bits."""
    total = 0.0
    common = 0
    for day in range(x.shape[0]):
        diff = np.float64(x[day]) - np.float64(y[day])
        both = diff == diff
        total += diff * diff if both else 0.0
        common += 1 if both else 0
    if common == 0:
        return np.inf
    return total * x.shape[0] / common


@njit(cache=_CACHE, nogil=True)
def _insert(best_distance, best_value, found, k, e, value):  # pragma: no cover - compiled
    """Put a donor into the short sorted list of the nearest so far; returns the new count."""
    slot = found if found < k else k - 1
    while slot > 0 and best_distance[slot - 1] > e:
        best_distance[slot] = best_distance[slot - 1]
        best_value[slot] = best_value[slot - 1]
        slot -= 1
    best_distance[slot] = e
    best_value[slot] = value
    return found + 1 if found < k else k


@njit(parallel=True, cache=_CACHE, nogil=True)
def fill_block(
    rough,
    common,
    row_norms,
    donor_norms,
    error_factor,
    block,
    todo,
    donor_values,
    donor_present,
    day_mean,
    day_has_donor,
    k,
    filled,
):  # pragma: no cover - compiled
    """Fill ``filled`` (receivers x days, NaN where missing) in place.

    ``rough`` and ``common`` are the float32 sums of squared differences and common-day counts
    to every donor; ``row_norms``, ``donor_norms`` the squared norms that bound their rounding
    (``error_factor`` times their sum); ``block`` the receivers' readings (NaN where missing);
    ``todo`` the days to fill of each; ``day_mean`` the fallback when no donor with the day is
    in reach.
    """
    n_rows, n_days = todo.shape
    for r in prange(n_rows):
        reachable = np.flatnonzero(common[r] > 0)
        n_reachable = reachable.shape[0]

        # A lower bound of each donor's exact distance: the float32 sum minus the worst-case
        # rounding of a dot product of that length, which is proportional to the two norms.
        lower = np.empty(n_reachable)
        for p in range(n_reachable):
            d = reachable[p]
            slack = error_factor * (row_norms[r] + donor_norms[d])
            lower[p] = max(0.0, rough[r, d] - slack) * n_days / common[r, d]
        exact = np.full(n_reachable, -1.0)

        size = min(_FIRST_PREFIX, n_reachable)
        order = _sorted_prefix(lower, size)
        best_distance = np.empty(k)
        best_value = np.empty(k)

        for day in range(n_days):
            if not todo[r, day] or not day_has_donor[day]:
                continue
            found = 0
            pos = 0
            while True:
                if pos == order.shape[0]:
                    if order.shape[0] >= n_reachable:
                        break
                    size = min(n_reachable, 4 * max(size, order.shape[0]))
                    order = _sorted_prefix(lower, size)
                p = order[pos]
                pos += 1
                # Every later donor is at least this far: the k found so far are the nearest.
                if found == k and lower[p] >= best_distance[k - 1]:
                    break
                d = reachable[p]
                if not donor_present[d, day]:
                    continue
                if exact[p] < 0.0:
                    exact[p] = _exact_distance(block[r], donor_values[d])
                e = exact[p]
                if found == k and e >= best_distance[k - 1]:
                    continue
                found = _insert(best_distance, best_value, found, k, e, donor_values[d, day])
            if found > 0:
                filled[r, day] = best_value[:found].mean()
            else:
                filled[r, day] = day_mean[day]


@njit(cache=_CACHE, nogil=True)
def _cut_to(values, index, n, size):  # pragma: no cover - compiled
    """Keep the ``size`` smallest of ``values[:n]`` (strictly smaller than the cut first, then
    ties at the cut while room is left) at the front, with their ``index``; returns the cut."""
    cut = np.partition(values[:n], size - 1)[size - 1]
    kept_values = np.empty(size)
    kept_index = np.empty(size, dtype=np.int64)
    m = 0
    for q in range(n):
        if values[q] < cut:
            kept_values[m] = values[q]
            kept_index[m] = index[q]
            m += 1
    for q in range(n):
        if m < size and values[q] == cut:
            kept_values[m] = values[q]
            kept_index[m] = index[q]
            m += 1
    values[:size] = kept_values
    index[:size] = kept_index
    return cut


@njit(parallel=True, cache=_CACHE, nogil=True)
def keep_nearest(
    rough,
    common,
    row_norms,
    col_norms,
    error_factor,
    n_days,
    col_offset,
    wanted,
    kept_lower,
    kept_index,
    kept_count,
    overflowed,
):  # pragma: no cover - compiled
    """Merge one tile of rough distances into each row's list of its nearest donors.

    Row ``r`` of the tile is the customer whose list is ``kept_lower[r]``/``kept_index[r]``
    (``kept_count[r]`` entries used); tile column ``c`` is donor ``col_offset + c``. Lists keep
    the smallest lower bounds; ``overflowed[r]`` turns True once a donor had to be left out, and
    then every donor left out has a lower bound at least the largest one kept. Candidates
    gather in a buffer of twice the list's length that is cut back whenever it fills, so a wide
    tile costs one pass and a few short partitions, not a partition of the whole row.
    """
    n_rows, n_cols = rough.shape
    size = kept_lower.shape[1]
    for r in prange(n_rows):
        if not wanted[r]:
            continue
        values = np.empty(2 * size)
        index = np.empty(2 * size, dtype=np.int64)
        n = kept_count[r]
        for q in range(n):
            values[q] = kept_lower[r, q]
            index[q] = kept_index[r, q]
        worst = values[:n].max() if n == size else np.inf
        left_out = False
        for c in range(n_cols):
            if common[r, c] <= 0:
                continue
            slack = error_factor * (row_norms[r] + col_norms[c])
            low = max(0.0, rough[r, c] - slack) * n_days / common[r, c]
            if low < worst:
                values[n] = low
                index[n] = col_offset + c
                n += 1
                if n == 2 * size:
                    worst = _cut_to(values, index, n, size)
                    n = size
                    left_out = True
            else:
                left_out = True
        if n > size:
            _cut_to(values, index, n, size)
            n = size
            left_out = True
        for q in range(n):
            kept_lower[r, q] = values[q]
            kept_index[r, q] = index[q]
        kept_count[r] = n
        if left_out:
            overflowed[r] = True


@njit(parallel=True, cache=_CACHE, nogil=True)
def fill_from_nearest(
    receivers,
    kept_lower,
    kept_index,
    kept_count,
    overflowed,
    kwh,
    present,
    day_mean,
    day_has_donor,
    k,
    filled,
    settled,
    pending,
):  # pragma: no cover - compiled
    """Fill the receivers' missing days from their kept lists of nearest donors.

    ``kwh``/``present`` hold every customer (receivers and donors alike); the kept lists are
    indexed by customer, and so is ``filled`` (the output, any float type), whose receivers'
    missing days are written in place. A receiver whose list cannot prove its k nearest
    donors for some day (the list was cut and its end is nearer than the k-th exact distance)
    is left with ``settled[i] = False`` and those days marked in ``pending[i]``, for
    the caller to redo against all donors (its row of ``filled`` may be partly written).
    """
    n_days = present.shape[1]
    for i in prange(receivers.shape[0]):
        row = receivers[i]
        n = kept_count[row]
        order = np.argsort(kept_lower[row, :n], kind="mergesort")
        lower = kept_lower[row, :n][order]
        index = kept_index[row, :n][order]
        horizon = lower[n - 1] if n > 0 else np.inf
        exact = np.full(n, -1.0)
        best_distance = np.empty(k)
        best_value = np.empty(k)
        ok = True
        for day in range(n_days):
            if present[row, day] or not day_has_donor[day]:
                continue
            found = 0
            pos = 0
            while pos < n:
                if found == k and lower[pos] >= best_distance[k - 1]:
                    break
                d = index[pos]
                pos += 1
                if not present[d, day]:
                    continue
                if exact[pos - 1] < 0.0:
                    exact[pos - 1] = _exact_distance(kwh[row], kwh[d])
                e = exact[pos - 1]
                if found == k and e >= best_distance[k - 1]:
                    continue
                found = _insert(best_distance, best_value, found, k, e, kwh[d, day])
            if (
                pos == n
                and overflowed[row]
                and not (found == k and horizon >= best_distance[k - 1])
            ):
                ok = False
                pending[i, day] = True
                continue
            if found > 0:
                filled[row, day] = best_value[:found].mean()
            else:
                filled[row, day] = day_mean[day]
        settled[i] = ok
