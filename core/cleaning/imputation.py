"""The imputation step: fill the empty days of a data set, and say exactly what was filled.

Methods:

- ``"knn"`` (the reference): :func:`core.cleaning.knn.knn_impute` across customers. A day that
  no donor has a reading for cannot be filled that way; it keeps its place and is then filled
  by linear interpolation along time per customer, and the report lists it.
- ``"linear"``: :func:`core.cleaning.interpolation.interpolate_linear` along time.
- ``"none"``: nothing is filled; the gaps stay NaN and the report counts them.

A customer with no readings at all is never given made-up values: it stays NaN and is listed
under ``customers_without_readings``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from core.cleaning.interpolation import interpolate_linear
from core.cleaning.knn import knn_impute
from core.dataset import ConsumptionData, ImportNote
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

IMPUTATION_METHODS = ("knn", "linear", "none")


def impute(
    data: ConsumptionData,
    method: str = "knn",
    *,
    k: int = 5,
    donors: np.ndarray | None = None,
    state: TaskState | None = None,
) -> tuple[ConsumptionData, np.ndarray, dict]:
    """Fill the missing readings of ``data`` with ``method``.

    ``donors`` (days like ``data``) are the neighbours for KNN; by default the customers of
    ``data`` themselves. Returns ``(filled data, mask of filled cells, report)``.
    """
    if method not in IMPUTATION_METHODS:
        raise ValueError(f"unknown imputation {method!r}; choose one of {IMPUTATION_METHODS}")
    state = ensure_state(state)
    started = time.perf_counter()
    kwh = data.kwh
    missing = np.isnan(kwh)
    no_readings = missing.all(axis=1) if data.n_days else np.zeros(data.n_customers, bool)
    donor_matrix = kwh if donors is None else donors
    empty_days = np.flatnonzero(np.isnan(donor_matrix).all(axis=0)) if len(donor_matrix) else []

    by_knn = by_line = 0
    if method == "knn":
        filled = knn_impute(kwh, k, state.child(0.0, 0.95), donors=donors)
        by_knn = int((missing & ~np.isnan(filled)).sum())
        if np.isnan(filled[~no_readings]).any():
            before = np.isnan(filled)
            filled = interpolate_linear(filled, state.child(0.95, 1.0), days=empty_days)
            by_line = int((before & ~np.isnan(filled)).sum())
    elif method == "linear":
        filled = interpolate_linear(kwh, state)
        by_line = int((missing & ~np.isnan(filled)).sum())
    else:
        filled = kwh.copy()
    state.set_progress(1.0)

    imputed = missing & ~np.isnan(filled)
    day_names = [data.days[j].date().isoformat() for j in empty_days]
    without = [str(c) for c in data.customer_ids[no_readings]]
    report = {
        "method": method,
        "k": int(k) if method == "knn" else None,
        "donors": int(len(donor_matrix)) if method == "knn" else None,
        "missing_cells": int(missing.sum()),
        "filled_cells": int(imputed.sum()),
        "filled_by_knn": by_knn,
        "filled_by_interpolation": by_line,
        "left_missing": int(np.isnan(filled).sum()),
        "empty_days": day_names,
        "customers_without_readings": without,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info(
        "imputation %s: %d of %d missing cells filled (%d by KNN, %d along time), "
        "%d empty days, %d customers without readings, %.1f s",
        method,
        report["filled_cells"],
        report["missing_cells"],
        by_knn,
        by_line,
        len(day_names),
        len(without),
        report["seconds"],
    )
    note = ImportNote("cells_imputed", _sentence(report), report["filled_cells"], day_names[:5])
    return data.with_kwh(filled, note), imputed, report


def _sentence(report: dict) -> str:
    if report["method"] == "none":
        return f"no imputation: {report['missing_cells']} readings left empty"
    text = f"{report['filled_cells']} empty readings filled"
    if report["method"] == "knn":
        text += f" by KNN ({report['k']} neighbours)"
        if report["filled_by_interpolation"]:
            text += (
                f"; {len(report['empty_days'])} days without any reading filled along time "
                f"({report['filled_by_interpolation']} readings)"
            )
    else:
        text += " by linear interpolation along time"
    if report["customers_without_readings"]:
        text += f"; {len(report['customers_without_readings'])} customers have no readings"
    return text
