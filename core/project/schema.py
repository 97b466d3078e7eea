"""The tables of a project file, its version number and the steps that upgrade older files.

A project file is one SQLite database. ``PRAGMA application_id`` marks it as ours,
``PRAGMA user_version`` holds :data:`SCHEMA_VERSION`, and the ``meta`` table keeps who made it
and when. Large content (reading matrices, model files) lives in tables of its own so that
listing data sets or runs never walks through megabytes of blob pages.

Version history:

- 1: the first layout; inspection outcomes had no free-text note.
- 2: ``inspections.note`` added (an inspector's remark on a visit).

Every change bumps :data:`SCHEMA_VERSION` and adds one function to :data:`MIGRATIONS` that takes a
file from the previous version to the next one; the upgrade runs inside a single transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache

SCHEMA_VERSION = 2

# "ETDP" as a big-endian 32-bit integer: lets a reader tell our files from other SQLite files.
APPLICATION_ID = 0x45544450

# Large pages make the overflow chains of a 175 MB matrix short: writing and reading it through
# incremental blob I/O measured several times faster at 64 KiB than at the default 4 KiB. The
# cost is a few hundred kilobytes for an empty project (one page per table and index).
PAGE_SIZE = 65536

# Split on ";" by create_tables, so comments inside must not contain one.
TABLES = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- An imported data set (parent_id NULL) or a cleaned version of one (parent_id, recipe, report).
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES datasets(id),
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    n_customers INTEGER NOT NULL,
    n_days INTEGER NOT NULL,
    first_day TEXT,
    theft INTEGER NOT NULL,
    normal INTEGER NOT NULL,
    unlabelled INTEGER NOT NULL,
    source_json TEXT NOT NULL,
    notes_json TEXT NOT NULL,
    recipe_json TEXT,
    report_json TEXT
);

-- 'kwh' (npy float32 customers x days), 'labels' (npy int8), 'customer_ids' (JSON list).
CREATE TABLE dataset_arrays (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (dataset_id, name)
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER REFERENCES datasets(id),
    protocol TEXT,
    models_json TEXT NOT NULL,
    seed INTEGER,
    split_json TEXT,
    device TEXT,
    params_json TEXT NOT NULL,
    record_json TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    stopped INTEGER NOT NULL DEFAULT 0,
    warnings_json TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE model_results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_name TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    history_json TEXT NOT NULL,
    curves_json TEXT NOT NULL,
    threshold REAL,
    stopped INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    created TEXT NOT NULL,
    PRIMARY KEY (run_id, model_name)
);

-- The files of a model's artifact folder, by path relative to that folder.
CREATE TABLE artifact_files (
    run_id INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    relpath TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, model_name, relpath),
    FOREIGN KEY (run_id, model_name) REFERENCES model_results(run_id, model_name)
);

CREATE TABLE scores (
    run_id INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    customer TEXT NOT NULL,
    score REAL,
    rank INTEGER,
    percentile REAL,
    flag INTEGER NOT NULL,
    scorable INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, model_name, customer),
    FOREIGN KEY (run_id, model_name) REFERENCES model_results(run_id, model_name)
);

-- Every visit is kept: the latest row of a customer is its current outcome.
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    inspected_on TEXT,
    note TEXT NOT NULL DEFAULT '',
    recorded TEXT NOT NULL
);

CREATE INDEX inspections_by_customer ON inspections (customer, id);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Lay out an empty file at the current version (the caller holds a transaction)."""
    for statement in TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@cache
def expected_columns() -> dict[str, frozenset[str]]:
    """Table name -> column names this version reads, taken from the layout itself."""
    conn = sqlite3.connect(":memory:")
    try:
        create_tables(conn)
        return {table: table_columns(conn, table) for table in _table_names(conn)}
    finally:
        conn.close()


def table_columns(conn: sqlite3.Connection, table: str) -> frozenset[str]:
    return frozenset(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))


def _table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def layout_problems(conn: sqlite3.Connection) -> list[str]:
    """What is missing from the file's tables compared with this version's layout."""
    present = set(_table_names(conn))
    problems = []
    for table, columns in expected_columns().items():
        if table not in present:
            problems.append(f"table '{table}' is missing")
            continue
        missing = sorted(columns - table_columns(conn, table))
        if missing:
            problems.append(f"table '{table}' lacks column(s) {', '.join(missing)}")
    return problems


# migrations ----------------------------------------------------------------------------------
def _add_inspection_note(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE inspections ADD COLUMN note TEXT NOT NULL DEFAULT ''")


# version the file has -> step that brings it to version + 1
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_inspection_note,
}


def migrate(conn: sqlite3.Connection, from_version: int) -> list[int]:
    """Run every step from ``from_version`` up to :data:`SCHEMA_VERSION` (caller's transaction).

    Returns the versions passed through. ``KeyError`` when a step is unknown.
    """
    passed = []
    version = from_version
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
        passed.append(version)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return passed
