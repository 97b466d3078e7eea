"""Data sets and their cleaned versions in a project file.

An imported data set and a cleaned version share one table: a cleaned version is a data set with
a parent, the recipe that made it (a plain JSON dict) and the cleaning report. Each keeps its
whole :class:`~core.dataset.ConsumptionData`: readings, customer ids, labels, calendar (first day
and day count; the calendar is complete by construction), import notes and source description.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData, ImportNote
from core.errors import ProjectError
from core.project.blobs import MAX_JSON_CHARS, dumps_json, loads_json, read_array, store_array
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

# Generous for any real import (42,372 x 1,035 is 44 M cells); a row claiming more is forged.
MAX_CELLS = 250_000_000


@dataclass
class CleanedVersion:
    """A cleaned version of a data set, as read back from the project."""

    id: int
    dataset_id: int
    recipe: dict[str, Any]
    report: dict[str, Any]
    data: ConsumptionData
    created: str


def insert_dataset(
    conn: sqlite3.Connection,
    data: ConsumptionData,
    *,
    name: str,
    created: str,
    parent_id: int | None = None,
    recipe: dict | None = None,
    report: dict | None = None,
    state: TaskState | None = None,
) -> int:
    """Write one data set (caller's transaction); returns its id."""
    state = ensure_state(state)
    first_day = data.days[0].date().isoformat() if data.n_days else None
    cursor = conn.execute(
        "INSERT INTO datasets (parent_id, name, created, n_customers, n_days, first_day, theft,"
        " normal, unlabelled, source_json, notes_json, recipe_json, report_json)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            parent_id,
            name,
            created,
            data.n_customers,
            data.n_days,
            first_day,
            data.theft_count,
            data.normal_count,
            data.unlabelled_count,
            dumps_json(data.source),
            dumps_json([note.to_dict() for note in data.notes]),
            None if recipe is None else dumps_json(recipe),
            None if report is None else dumps_json(report),
        ),
    )
    dataset_id = int(cursor.lastrowid)
    ids = dumps_json([str(c) for c in data.customer_ids]).encode("utf-8")
    conn.execute(
        "INSERT INTO dataset_arrays (dataset_id, name, data) VALUES (?, 'customer_ids', ?)",
        (dataset_id, ids),
    )
    store_array(conn, "dataset_arrays", {"dataset_id": dataset_id, "name": "labels"}, data.labels)
    store_array(
        conn,
        "dataset_arrays",
        {"dataset_id": dataset_id, "name": "kwh"},
        data.kwh,
        state=state,
    )
    return dataset_id


def read_dataset(
    conn: sqlite3.Connection,
    dataset_id: int,
    *,
    cleaned: bool | None = None,
    state: TaskState | None = None,
) -> tuple[ConsumptionData, sqlite3.Row | tuple]:
    """One data set and its row. ``cleaned`` True/False insists on the kind (None: either)."""
    state = ensure_state(state)
    kind = "cleaned version" if cleaned else "data set"
    row = conn.execute(
        "SELECT id, parent_id, name, created, n_customers, n_days, first_day, source_json,"
        " notes_json, recipe_json, report_json FROM datasets WHERE id = ?",
        (int(dataset_id),),
    ).fetchone()
    if row is None or (cleaned is not None and (row[1] is not None) != cleaned):
        raise ProjectError(f"there is no {kind} {dataset_id}")
    _, _, name, _, n_customers, n_days, first_day, source_json, notes_json, *_ = row
    what = f"{kind} {dataset_id} ({name})"

    counts_ok = isinstance(n_customers, int) and isinstance(n_days, int)
    if not counts_ok or min(n_customers, n_days) < 0 or n_customers * n_days > MAX_CELLS:
        raise ProjectError(f"{what} claims {n_customers} customers x {n_days} days")
    if n_days and not first_day:
        raise ProjectError(f"{what} has {n_days} days but no first day")
    try:
        days = pd.date_range(first_day, periods=n_days, freq="D") if n_days else []
    except (ValueError, TypeError):
        raise ProjectError(f"{what} has an unreadable first day {first_day!r}") from None

    ids = _read_ids(conn, dataset_id, n_customers, what)
    labels = read_array(
        conn,
        "dataset_arrays",
        {"dataset_id": int(dataset_id), "name": "labels"},
        dtype=np.int8,
        shape=(n_customers,),
        what=f"{what}: labels",
    )
    kwh = read_array(
        conn,
        "dataset_arrays",
        {"dataset_id": int(dataset_id), "name": "kwh"},
        dtype=np.float32,
        shape=(n_customers, n_days),
        what=f"{what}: readings",
        state=state,
    )
    source = loads_json(source_json, f"{what}: source", expect=dict) or {}
    notes = loads_json(notes_json, f"{what}: import notes", expect=list) or []
    try:
        notes = [ImportNote.from_dict(n) for n in notes]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ProjectError(
            f"{what}: the import notes are damaged ({type(err).__name__}: {err})"
        ) from None
    try:
        data = ConsumptionData(ids, days, kwh, labels, notes=notes, source=source)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ProjectError(f"{what} is inconsistent: {err}") from None
    return data, row


def _read_ids(conn: sqlite3.Connection, dataset_id: int, n_customers: int, what: str):
    found = conn.execute(
        "SELECT length(data) FROM dataset_arrays WHERE dataset_id = ? AND name = 'customer_ids'",
        (int(dataset_id),),
    ).fetchone()
    if found is None:
        raise ProjectError(f"{what}: customer ids are missing")
    if (found[0] or 0) > MAX_JSON_CHARS:
        raise ProjectError(f"{what}: customer ids take {found[0]:,} bytes, over the limit")
    (blob,) = conn.execute(
        "SELECT data FROM dataset_arrays WHERE dataset_id = ? AND name = 'customer_ids'",
        (int(dataset_id),),
    ).fetchone()
    ids = loads_json(blob, f"{what}: customer ids", expect=list)
    if not isinstance(ids, list) or len(ids) != n_customers:
        count = len(ids) if isinstance(ids, list) else "no"
        raise ProjectError(f"{what}: {count} customer ids stored for {n_customers} customers")
    if not all(isinstance(c, str) for c in ids):
        raise ProjectError(f"{what}: the customer ids are not all text")
    return ids


def dataset_rows(conn: sqlite3.Connection, *, cleaned: bool, parent_id: int | None = None):
    """Summaries (dicts) of the imported data sets, or of the cleaned versions."""
    sql = (
        "SELECT id, parent_id, name, created, n_customers, n_days, first_day, theft, normal,"
        " unlabelled, source_json, recipe_json FROM datasets WHERE parent_id IS "
        + ("NOT NULL" if cleaned else "NULL")
    )
    params: tuple = ()
    if cleaned and parent_id is not None:
        sql += " AND parent_id = ?"
        params = (int(parent_id),)
    out = []
    for row in conn.execute(sql + " ORDER BY id", params).fetchall():
        what = f"{'cleaned version' if cleaned else 'data set'} {row[0]}"
        source = loads_json(row[10], f"{what}: source", expect=dict) or {}
        item = {
            "id": row[0],
            "name": row[2],
            "created": row[3],
            "customers": _count(row[4], what, "customers"),
            "days": _count(row[5], what, "days"),
            "first_day": row[6],
            "last_day": _last_day(row[6], row[5], what),
            "theft": _count(row[7], what, "thieves"),
            "normal": _count(row[8], what, "normal customers"),
            "unlabelled": _count(row[9], what, "unlabelled customers"),
            "source_name": source.get("name"),
            "sha256": source.get("sha256"),
            "bytes": _stored_bytes(conn, row[0]),
        }
        if cleaned:
            item["dataset_id"] = row[1]
            item["recipe"] = loads_json(row[11], f"{what}: recipe", expect=dict)
        out.append(item)
    return out


def _count(value, what: str, of: str) -> int:
    """A count from a row, which a damaged or forged file may hold as anything."""
    if not isinstance(value, int) or value < 0:
        raise ProjectError(f"{what}: the number of {of} is {value!r}, not a count")
    return value


def _last_day(first_day, n_days, what: str) -> str | None:
    if not first_day or not n_days:
        return None
    try:
        first = pd.Timestamp(first_day)
    except (ValueError, TypeError):
        first = pd.NaT
    if pd.isna(first) or not isinstance(n_days, int):
        raise ProjectError(f"{what} has an unreadable first day {first_day!r}")
    return (first + pd.Timedelta(days=n_days - 1)).date().isoformat()


def _stored_bytes(conn: sqlite3.Connection, dataset_id: int) -> int:
    (size,) = conn.execute(
        "SELECT COALESCE(SUM(length(data)), 0) FROM dataset_arrays WHERE dataset_id = ?",
        (dataset_id,),
    ).fetchone()
    return int(size)


def cleaned_version(row: tuple, data: ConsumptionData) -> CleanedVersion:
    what = f"cleaned version {row[0]}"
    return CleanedVersion(
        id=int(row[0]),
        dataset_id=int(row[1]),
        recipe=loads_json(row[9], f"{what}: recipe", expect=dict) or {},
        report=loads_json(row[10], f"{what}: report", expect=dict) or {},
        data=data,
        created=row[3],
    )
