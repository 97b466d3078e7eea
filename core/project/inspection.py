"""What inspectors found, and how it flows back into labels and visit lists.

Every recorded outcome is kept; the most recently recorded one per customer is that customer's
current outcome (recording order, not visit date, so that a correction typed in later wins).
Outcomes become labels for later runs: confirmed theft -> 1, cleared -> 0, anything else leaves
the customer unknown.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from core.dataset import NORMAL, THEFT, UNKNOWN
from core.errors import ProjectError

log = logging.getLogger(__name__)

NOT_INSPECTED = "not_inspected"
CONFIRMED_THEFT = "confirmed_theft"
CLEARED = "cleared"
NO_ACCESS = "no_access"

OUTCOMES = (NOT_INSPECTED, CONFIRMED_THEFT, CLEARED, NO_ACCESS)

# What the GUI and the exported lists show for each stored key.
OUTCOME_TEXT = {
    NOT_INSPECTED: "not inspected",
    CONFIRMED_THEFT: "confirmed theft",
    CLEARED: "cleared",
    NO_ACCESS: "could not access",
}

OUTCOME_LABEL = {CONFIRMED_THEFT: THEFT, CLEARED: NORMAL}

LIST_COLUMNS = (
    "customer",
    "rank",
    "score",
    "percentile",
    "flag",
    "outcome",
    "inspected_on",
    "note",
)

_LATEST = (
    "SELECT customer, outcome, inspected_on, note, recorded FROM inspections"
    " WHERE id IN (SELECT MAX(id) FROM inspections GROUP BY customer)"
)


def outcome_key(outcome: str) -> str:
    """The stored key for ``outcome``, given as a key or as its shown text."""
    text = str(outcome).strip().lower()
    if text in OUTCOMES:
        return text
    for key, shown in OUTCOME_TEXT.items():
        if text == shown:
            return key
    choices = ", ".join(f"'{k}'" for k in OUTCOMES)
    raise ProjectError(f"unknown inspection outcome {outcome!r}", hint=f"Use one of {choices}.")


def day_text(day: dt.date | dt.datetime | str | None) -> str:
    """ISO date of a visit; today when not given."""
    if day is None:
        return dt.date.today().isoformat()
    if isinstance(day, dt.datetime):
        return day.date().isoformat()
    if isinstance(day, dt.date):
        return day.isoformat()
    try:
        return dt.date.fromisoformat(str(day).strip()).isoformat()
    except ValueError:
        raise ProjectError(
            f"inspection date {day!r} is not a date", hint="Write it as YYYY-MM-DD."
        ) from None


def insert(conn: sqlite3.Connection, customer: str, outcome: str, day, note: str, recorded: str):
    customer = str(customer).strip()
    if not customer:
        raise ProjectError("an inspection needs a customer id")
    conn.execute(
        "INSERT INTO inspections (customer, outcome, inspected_on, note, recorded)"
        " VALUES (?, ?, ?, ?, ?)",
        (customer, outcome_key(outcome), day_text(day), str(note or ""), recorded),
    )


def latest(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per inspected customer: customer, outcome, inspected_on, note, recorded."""
    rows = conn.execute(_LATEST + " ORDER BY customer").fetchall()
    return pd.DataFrame(rows, columns=["customer", "outcome", "inspected_on", "note", "recorded"])


def history(conn: sqlite3.Connection, customer: str | None = None) -> pd.DataFrame:
    """Every recorded outcome, oldest first (of one customer when given)."""
    sql = "SELECT customer, outcome, inspected_on, note, recorded FROM inspections"
    params: tuple = ()
    if customer is not None:
        sql += " WHERE customer = ?"
        params = (str(customer),)
    rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    return pd.DataFrame(rows, columns=["customer", "outcome", "inspected_on", "note", "recorded"])


def labels_for(conn: sqlite3.Connection, customer_ids) -> np.ndarray:
    """int8 labels from the current outcomes: 1 confirmed theft, 0 cleared, -1 otherwise."""
    current = dict(conn.execute("SELECT customer, outcome FROM (" + _LATEST + ")").fetchall())
    return np.array(
        [OUTCOME_LABEL.get(current.get(str(c)), UNKNOWN) for c in customer_ids], dtype=np.int8
    )


def write_visit_list(
    conn: sqlite3.Connection, path: Path, run_id: int, model: str, top: int | None
) -> int:
    """CSV of the scored customers by rank with their current outcome; returns rows written.

    Customers that could not be scored come last (no rank), and only when ``top`` is not given.
    """
    sql = (
        "SELECT s.customer, s.rank, s.score, s.percentile, s.flag, i.outcome, i.inspected_on,"
        " i.note FROM scores s LEFT JOIN (" + _LATEST + ") i ON i.customer = s.customer"
        " WHERE s.run_id = ? AND s.model_name = ?"
    )
    params: list = [int(run_id), str(model)]
    if top is not None:
        if int(top) < 1:
            raise ProjectError(f"the list length must be at least 1, got {top}")
        sql += " AND s.rank IS NOT NULL ORDER BY s.rank LIMIT ?"
        params.append(int(top))
    else:
        sql += " ORDER BY s.rank IS NULL, s.rank, s.customer"
    rows = conn.execute(sql, params).fetchall()

    # Every row is checked before the file is touched: a refused list leaves no half file.
    lines = []
    for customer, rank, score, percentile, flag, outcome, day, note in rows:
        what = f"run {run_id} model {model}, customer {customer}"
        lines.append(
            [
                customer,
                _stored_number(rank, None, f"{what}: rank"),
                _stored_number(score, 6, f"{what}: score"),
                _stored_number(percentile, 3, f"{what}: percentile"),
                _stored_number(flag, None, f"{what}: flag"),
                OUTCOME_TEXT.get(outcome or NOT_INSPECTED, outcome),
                day or "",
                note or "",
            ]
        )
    path = Path(path)
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(LIST_COLUMNS)
            writer.writerows(lines)
    except OSError as err:
        raise ProjectError(f"{path}: cannot write the inspection list ({err.strerror})") from None
    log.info("wrote %d customers of run %s model %s to %s", len(rows), run_id, model, path)
    return len(rows)


def _stored_number(value, digits: int | None, what: str) -> str:
    """A number from the scores table as CSV text ("" for none); digits None: a whole number.

    A hand-edited or forged file may hold text in these columns: refused, not written."""
    if value is None:
        return ""
    if digits is None and isinstance(value, int):
        return str(value)
    if digits is not None and isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    raise ProjectError(f"{what} is {value!r}, not a number; the file was changed by hand")
