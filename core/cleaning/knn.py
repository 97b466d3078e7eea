"""KNN imputation across customers, with scikit-learn's ``KNNImputer`` semantics, made fast.

Rows are customers and columns are days. A missing reading of customer ``i`` on day ``j`` gets
the plain mean of day ``j`` over the ``k`` donors nearest to ``i`` among those that have a
reading on day ``j``. The distance is scikit-learn's nan-euclidean one: over the days both
customers have, ``d^2 = sum((x - y)^2) * n_days / n_common``; two customers with no day in
common have no distance and are never neighbours. When no donor with a reading on day ``j`` has
a distance to ``i``, the mean of day ``j`` over all donors is used, as scikit-learn does.

Where this differs from ``KNNImputer``, on purpose:

- a day with no reading from any donor stays in place and stays NaN (``KNNImputer`` drops the
  column, which shifts every later day); the imputation step fills it along time afterwards;
- a customer with no readings at all stays NaN (``KNNImputer`` would invent column means);
- among donors at exactly the same distance the first met is taken, where ``KNNImputer``'s
  choice depends on its partition routine; values can differ only in such exact ties (many
  all-zero customers, duplicated rows).

How it is fast and still exact: the donors' zero-filled readings, their squares and presence
masks are stacked once in float32 (12 bytes per reading). One float32 matrix product per block
of receiving customers then gives every squared distance roughly, with a known worst-case
rounding error proportional to the two customers' norms; a second product counts the common
days exactly. Compiled loops (numba, parallel over customers, GIL released) walk each
customer's donors in order of the lower bound ``rough - error``, compute the exact float64
distance of each donor they meet, and stop for a day as soon as the next lower bound is no
nearer than the k-th exact distance found. Exact distances are computed only for the few
donors walked, never for a whole row.

When the customers are their own donors (fitting, cleaning) the distances are symmetric: each
block of customers is compared with itself and the customers after it only, and every customer
keeps a list of its ``_NEAREST_KEPT`` nearest donors by lower bound. A customer whose list
cannot prove some day's k nearest (about 2%; days few donors have) is redone against all
donors. When donors are given (scoring new customers) each block of new customers is compared
with every donor.

Threads: the products run on a few Python threads with one BLAS thread each, and the compiled
loops with one BLAS thread, so OpenBLAS's spinning threads never compete with numba's (on a
busy two-core machine that competition cost more than half the speed). The BLAS limit is
process-wide while a phase runs: other numpy work in the process meanwhile runs on one thread.

Memory: the stacked donors (12 bytes per reading), four reused float32 tiles of one block of
rows, and the kept lists (16 bytes per customer and kept donor): about 1.3 GB on top of the
readings for the full SGCC set (42,372 customers), linear in the customers.

Known limit: the cost grows with customers x donors x days (about 8,300 floating-point
operations per pair at 1,035 days, half that for customers as their own donors); customers
with nothing to fill cost nothing as receivers.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

# Distance rows of one block of receivers: rows x donors x 8 bytes (rough float32 sums and
# common-day counts). This budget keeps a block near 150 MB at any size.
_BLOCK_BYTES = 150_000_000
# Donors are stacked into float32 (presence, squares, values) one chunk at a time.
_DONOR_CHUNK = 4096
# Customers as their own donors: how many nearest donors (by lower bound) each one keeps.
_NEAREST_KEPT = 256
# Python threads sharing each block's distance products (each with one BLAS thread).
_PRODUCT_THREADS = max(1, min(4, os.cpu_count() or 1))
# Worst-case relative rounding of a float32 dot product is about its length times this unit,
# doubled for the squares and the cross term, with a margin.
_ROUNDING = 2.2 * 2.0**-24


def knn_impute(
    kwh: np.ndarray,
    n_neighbors: int = 5,
    state: TaskState | None = None,
    donors: np.ndarray | None = None,
    *,
    block_rows: int | None = None,
) -> np.ndarray:
    """Fill the NaN readings of ``kwh`` (customers x days) from the nearest donor customers.

    ``donors`` is a matrix of the same days whose rows serve as neighbours (the training
    customers, when scoring new ones); by default the rows of ``kwh`` themselves. Donor values
    are used as they are, gaps included, never imputed ones. Returns a new array of the input's
    float type (float32 stays float32); days that no donor has, and customers with no readings,
    stay NaN. ``block_rows`` sets how many customers are handled per step (progress and cancel
    come between steps); by default it follows a memory budget.
    """
    state = ensure_state(state)
    kwh = np.asarray(kwh)
    if kwh.ndim != 2:
        raise ValueError(f"kwh must be customers x days, got shape {kwh.shape}")
    if int(n_neighbors) < 1:
        raise ValueError(f"n_neighbors must be at least 1, got {n_neighbors}")
    out_dtype = kwh.dtype if kwh.dtype in (np.float32, np.float64) else np.float64
    donor_matrix = kwh if donors is None else np.asarray(donors)
    if donor_matrix.ndim != 2 or donor_matrix.shape[1] != kwh.shape[1]:
        raise ValueError(
            f"donors have shape {donor_matrix.shape}; they need the same {kwh.shape[1]} days"
        )

    started = time.perf_counter()
    out = kwh.astype(out_dtype, copy=True)
    missing = np.isnan(kwh)
    donor_present = ~missing if donors is None else ~np.isnan(donor_matrix)
    day_has_donor = donor_present.any(axis=0)
    has_reading = ~missing.all(axis=1)
    receivers = np.flatnonzero(has_reading & (missing & day_has_donor).any(axis=1))
    if not len(receivers) or not len(donor_matrix):
        return out

    n_donors, n_days = donor_matrix.shape
    given_rows = block_rows
    if block_rows is None:
        block_rows = max(16, min(2048, _BLOCK_BYTES // (8 * n_donors)))
    # Donor values are read where present only, in their own precision, without a copy.
    if donor_matrix.dtype not in (np.float32, np.float64):
        donor_matrix = donor_matrix.astype(np.float64)
    donor_values = np.ascontiguousarray(donor_matrix)
    stacked, donor_norms, day_mean = _donor_parts(donor_values, donor_present)
    log.info(
        "KNN imputation: %d customers to fill, %d donors, %d days, k=%d, %d per block",
        len(receivers),
        n_donors,
        n_days,
        n_neighbors,
        block_rows,
    )

    state.set_status(f"KNN imputation of {len(receivers):,} customers")
    rest, rest_days = receivers, None
    if donors is None:
        rest, rest_days = _fill_from_tiles(
            donor_values,
            stacked,
            receivers,
            donor_present,
            donor_norms,
            day_mean,
            day_has_donor,
            int(n_neighbors),
            # smaller blocks follow the triangle more closely (the products stay long)
            given_rows or max(512, min(block_rows, -(-n_donors // 8))),
            out,
            state.child(0.0, 0.95),
        )
        log.info("%d customers need their full donor rows", len(rest))
    if len(rest):
        _fill_by_blocks(
            kwh,
            rest,
            rest_days,
            donor_values,
            stacked,
            donor_present,
            donor_norms,
            day_mean,
            day_has_donor,
            int(n_neighbors),
            block_rows,
            out,
            state.child(0.95 if donors is None else 0.0, 1.0),
        )
    state.set_progress(1.0)

    log.info("KNN imputation done in %.1f s", time.perf_counter() - started)
    return out


def _fill_from_tiles(
    kwh, stacked, receivers, present, norms, day_mean, day_has_donor, k, block_rows, out, state
) -> np.ndarray:
    """Customers as their own donors: the distance matrix is symmetric, so each block of rows
    is computed against itself and the customers after it only, and serves both the block's
    rows and, transposed, those later customers: half the products. Every receiver keeps only
    its nearest donors by lower bound. Returns the receivers whose list was too short to prove
    some day's k nearest, and those days (only they are redone, against all donors)."""
    # numba loads only when there is something to fill, so importing this module stays quick
    from core.cleaning.neighbour_search import fill_from_nearest, keep_nearest

    n_customers, n_days = kwh.shape
    wanted = np.zeros(n_customers, dtype=bool)
    wanted[receivers] = True
    later_wanted = np.cumsum(wanted[::-1])[::-1]  # receivers from each row on
    size = _NEAREST_KEPT
    kept_lower = np.empty((n_customers, size))
    kept_index = np.empty((n_customers, size), dtype=np.int64)
    kept_count = np.zeros(n_customers, dtype=np.int64)
    overflowed = np.zeros(n_customers, dtype=bool)
    factor = _ROUNDING * (3 * n_days + 4)
    # The tiles' buffers are made once: fresh large arrays cost a page fault per 4 kB.
    buffers = _TileBuffers(block_rows, n_customers)

    # Work per block shrinks along the triangle; progress follows the pairs done.
    starts = list(range(0, n_customers, block_rows))
    total_pairs = sum(n_customers - a0 for a0 in starts)
    pairs_done = 0
    for a0 in starts:
        state.check()
        a1 = min(n_customers, a0 + block_rows)
        pairs_done += n_customers - a0
        if not later_wanted[a0]:
            break
        rough, common = _rough_distances(
            _rows_from_stacked(stacked[a0:a1]), stacked[a0:], buffers.rough, buffers.common
        )
        with _blas_quiet():
            keep_nearest(
                rough,
                common,
                norms[a0:a1],
                norms[a0:],
                factor,
                n_days,
                a0,
                wanted[a0:a1],
                kept_lower[a0:a1],
                kept_index[a0:a1],
                kept_count[a0:a1],
                overflowed[a0:a1],
            )
            if a1 < n_customers:
                keep_nearest(
                    buffers.transposed(rough[:, a1 - a0 :], 0),
                    buffers.transposed(common[:, a1 - a0 :], 1),
                    norms[a1:],
                    norms[a0:a1],
                    factor,
                    n_days,
                    a0,
                    wanted[a1:],
                    kept_lower[a1:],
                    kept_index[a1:],
                    kept_count[a1:],
                    overflowed[a1:],
                )
        state.set_progress(0.95 * pairs_done / total_pairs)

    state.check()
    settled = np.zeros(len(receivers), dtype=bool)
    pending = np.zeros((len(receivers), n_days), dtype=bool)
    with _blas_quiet():
        fill_from_nearest(
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
            out,
            settled,
            pending,
        )
    state.set_progress(1.0)
    return receivers[~settled], pending[~settled]


def _fill_by_blocks(
    kwh,
    receivers,
    days_to_fill,
    donor_values,
    stacked,
    donor_present,
    donor_norms,
    day_mean,
    day_has_donor,
    k,
    block_rows,
    out,
    state,
) -> None:
    """Each block of receivers against every donor, with full distance rows.

    ``days_to_fill`` (receivers x days) limits the work to those days, the others being filled
    in ``out`` already; by default every missing day."""
    from core.cleaning.neighbour_search import fill_block

    n_days = kwh.shape[1]
    buffers = _TileBuffers(min(block_rows, len(receivers)), len(donor_values))
    for start in range(0, len(receivers), block_rows):
        state.check()
        rows = receivers[start : start + block_rows]
        block = kwh[rows].astype(np.float64)
        block_present = ~np.isnan(block)
        todo = ~block_present if days_to_fill is None else days_to_fill[start : start + len(rows)]
        left_parts, block_norms, _ = _donor_parts(block, block_present)
        rough, common = _rough_distances(
            _rows_from_stacked(left_parts), stacked, buffers.rough, buffers.common
        )
        state.check()

        filled = out[rows].astype(np.float64)
        with _blas_quiet():
            fill_block(
                rough,
                common,
                block_norms,
                donor_norms,
                _ROUNDING * (3 * n_days + 4),
                block,
                todo,
                donor_values,
                donor_present,
                day_mean,
                day_has_donor,
                k,
                filled,
            )
        out[rows] = filled.astype(out.dtype)
        state.set_progress(min(1.0, (start + len(rows)) / len(receivers)))


def _donor_parts(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, ...]:
    """The donors' side of the distance product and their plain statistics, in one pass.

    Returns ``[mask, y^2, y]`` of every row (float32, zero where missing; 12 bytes per
    reading), the float64 squared norm of each row and the mean of each day over the rows that
    have it (NaN where none has), built a chunk of rows at a time.
    """
    n_rows, n_days = values.shape
    stacked = np.empty((n_rows, 3 * n_days), dtype=np.float32)
    norms = np.empty(n_rows)
    sums = np.zeros(n_days)
    for lo in range(0, n_rows, _DONOR_CHUNK):
        hi = min(n_rows, lo + _DONOR_CHUNK)
        y = np.where(present[lo:hi], values[lo:hi], 0.0)
        norms[lo:hi] = np.einsum("ij,ij->i", y, y, dtype=np.float64)
        sums += y.sum(axis=0, dtype=np.float64)
        stacked[lo:hi, :n_days] = present[lo:hi]
        stacked[lo:hi, 2 * n_days :] = y
        np.square(stacked[lo:hi, 2 * n_days :], out=stacked[lo:hi, n_days : 2 * n_days])
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        day_mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return stacked, norms, day_mean


def _rows_from_stacked(stacked: np.ndarray) -> np.ndarray:
    """The receivers' side ``[x^2, mask, -2x]`` from their donor-side parts."""
    n_days = stacked.shape[1] // 3
    left = np.empty_like(stacked)
    left[:, :n_days] = stacked[:, n_days : 2 * n_days]
    left[:, n_days : 2 * n_days] = stacked[:, :n_days]
    np.multiply(stacked[:, 2 * n_days :], -2.0, out=left[:, 2 * n_days :])
    return left


class _TileBuffers:
    """Float32 buffers for the distance tiles of one run, reused block after block."""

    def __init__(self, rows: int, columns: int) -> None:
        self.rough = np.empty(rows * columns, dtype=np.float32)
        self.common = np.empty(rows * columns, dtype=np.float32)
        self._flipped = (np.empty(rows * columns, np.float32), np.empty(rows * columns, np.float32))

    def transposed(self, tile: np.ndarray, which: int) -> np.ndarray:
        """A C-ordered copy of ``tile.T`` in the reused buffer ``which`` (0 or 1)."""
        out = self._flipped[which][: tile.size].reshape(tile.shape[::-1])
        np.copyto(out, tile.T)
        return out


def _rough_distances(
    left: np.ndarray, right: np.ndarray, rough_buffer: np.ndarray, common_buffer: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 sums of squared differences over common days, and common-day counts.

    ``sum over common days (x - y)^2`` expands into one product of the receivers' stacked
    ``[x^2, mask, -2x]`` with the donors' ``[mask, y^2, y]``. In float32 it is only a first
    sort; the compiled loop bounds its rounding error and recomputes exact float64 distances
    for the donors it takes. The common-day count (product of the masks) is exact in float32
    (integers far below 2**24).

    The rows are split over a few Python threads, each running single-threaded BLAS: on a
    busy machine OpenBLAS's own threads wait for each other at every step and lose most of
    their speed, while independent products just share the cores.
    """
    n_rows, n_days = left.shape[0], left.shape[1] // 3
    shape = (n_rows, right.shape[0])
    rough = rough_buffer[: n_rows * shape[1]].reshape(shape)
    common = common_buffer[: n_rows * shape[1]].reshape(shape)

    def product(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        np.matmul(left[lo:hi], right.T, out=rough[lo:hi])
        np.matmul(left[lo:hi, n_days : 2 * n_days], right[:, :n_days].T, out=common[lo:hi])

    step = -(-n_rows // _PRODUCT_THREADS)
    parts = [(lo, min(n_rows, lo + step)) for lo in range(0, n_rows, step)]
    with _blas_quiet():
        if len(parts) == 1:
            product(parts[0])
        else:
            with ThreadPoolExecutor(len(parts)) as pool:
                list(pool.map(product, parts))
    return rough, common


@contextmanager
def _blas_quiet():
    """One BLAS thread while the compiled loops run: OpenBLAS's idle threads keep spinning for
    a while after a product and would take the cores the loops' threads need."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
