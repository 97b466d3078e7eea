"""Older project files are upgraded after a backup copy; newer ones are never written to."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.dataset import ConsumptionData
from core.errors import ProjectError
from core.project import SCHEMA_VERSION, Project
from core.project.schema import APPLICATION_ID

# Version 1 as it was released: the same tables as today, except that inspections had no note.
VERSION_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES datasets(id), name TEXT NOT NULL,
    created TEXT NOT NULL, n_customers INTEGER NOT NULL, n_days INTEGER NOT NULL,
    first_day TEXT, theft INTEGER NOT NULL, normal INTEGER NOT NULL,
    unlabelled INTEGER NOT NULL, source_json TEXT NOT NULL, notes_json TEXT NOT NULL,
    recipe_json TEXT, report_json TEXT);
CREATE TABLE dataset_arrays (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id), name TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (dataset_id, name));
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, dataset_id INTEGER REFERENCES datasets(id), protocol TEXT,
    models_json TEXT NOT NULL, seed INTEGER, split_json TEXT, device TEXT,
    params_json TEXT NOT NULL, record_json TEXT NOT NULL, started TEXT NOT NULL, ended TEXT,
    stopped INTEGER NOT NULL DEFAULT 0, warnings_json TEXT NOT NULL DEFAULT '[]');
CREATE TABLE model_results (
    run_id INTEGER NOT NULL REFERENCES runs(id), model_name TEXT NOT NULL,
    metrics_json TEXT NOT NULL, history_json TEXT NOT NULL, curves_json TEXT NOT NULL,
    threshold REAL, stopped INTEGER NOT NULL DEFAULT 0, seconds REAL, created TEXT NOT NULL,
    PRIMARY KEY (run_id, model_name));
CREATE TABLE artifact_files (
    run_id INTEGER NOT NULL, model_name TEXT NOT NULL, relpath TEXT NOT NULL,
    sha256 TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, model_name, relpath),
    FOREIGN KEY (run_id, model_name) REFERENCES model_results(run_id, model_name));
CREATE TABLE scores (
    run_id INTEGER NOT NULL, model_name TEXT NOT NULL, customer TEXT NOT NULL, score REAL,
    rank INTEGER, percentile REAL, flag INTEGER NOT NULL, scorable INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, model_name, customer),
    FOREIGN KEY (run_id, model_name) REFERENCES model_results(run_id, model_name));
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY, customer TEXT NOT NULL, outcome TEXT NOT NULL,
    inspected_on TEXT, recorded TEXT NOT NULL);
CREATE INDEX inspections_by_customer ON inspections (customer, id);
"""


def write_version_1(path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(VERSION_1)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("app", "etd-workbench"), ("app_version", "0.0.9"), ("created", "2026-06-01")],
    )
    conn.executemany(
        "INSERT INTO inspections (customer, outcome, inspected_on, recorded) VALUES (?,?,?,?)",
        [
            ("C1", "confirmed_theft", "2026-06-02", "2026-06-02T10:00:00+00:00"),
            ("C2", "cleared", "2026-06-03", "2026-06-03T10:00:00+00:00"),
        ],
    )
    conn.commit()
    conn.close()


def columns(path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def test_a_version_1_file_is_upgraded_after_a_backup_copy(tmp_path):
    path = tmp_path / "june.etdproj"
    write_version_1(path)

    with Project.open(path) as project:
        assert project.schema_version == SCHEMA_VERSION == 2
        current = project.inspections()
        project.record_inspection("C3", "no_access", "2026-12-01", "gate locked")
        meta = project.meta()

    backup = tmp_path / "june.etdproj.bak-v1"
    assert backup.exists()
    assert "note" not in columns(backup, "inspections")  # the copy is the file as it was
    assert "note" in columns(path, "inspections")
    assert current["customer"].tolist() == ["C1", "C2"]
    assert current["note"].tolist() == ["", ""]
    assert meta["schema_version"] == "2" and "from schema 1" in meta["upgraded"]
    assert meta["app_version"] == "0.0.9"  # who made it stays recorded
    with Project.open(path, read_only=True) as project:
        assert project.inspections().set_index("customer").loc["C3", "note"] == "gate locked"


def test_a_second_upgrade_keeps_the_first_backup(tmp_path):
    path = tmp_path / "june.etdproj"
    write_version_1(path)
    (tmp_path / "june.etdproj.bak-v1").write_bytes(b"an older backup")
    Project.open(path).close()
    assert (tmp_path / "june.etdproj.bak-v1").read_bytes() == b"an older backup"
    assert "note" not in columns(tmp_path / "june.etdproj.bak-v1-2", "inspections")


def test_an_older_file_cannot_be_opened_read_only(tmp_path):
    path = tmp_path / "june.etdproj"
    write_version_1(path)
    with pytest.raises(ProjectError, match="older version .schema 1. and needs an upgrade"):
        Project.open(path, read_only=True)
    assert not (tmp_path / "june.etdproj.bak-v1").exists()


@pytest.fixture
def from_the_future(tmp_path):
    """A project written by a later version: schema 3, with a table this version does not know."""
    path = tmp_path / "future.etdproj"
    kwh = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = ConsumptionData(["a", "b", "c"], pd.date_range("2016-01-01", periods=4), kwh)
    with Project.create(path) as project:
        dataset_id = project.add_dataset(data, name="future")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE feeders (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    return path, dataset_id


def test_a_newer_file_is_refused_for_editing(from_the_future):
    path, _ = from_the_future
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="newer version of the workbench .file schema 3") as err:
        Project.open(path)
    assert "open the file read-only" in err.value.hint
    assert path.read_bytes() == before


def test_a_newer_file_can_still_be_read(from_the_future):
    path, dataset_id = from_the_future
    with Project.open(path, read_only=True) as project:
        np.testing.assert_array_equal(project.load_dataset(dataset_id).kwh[2], [8, 9, 10, 11])
        with pytest.raises(ProjectError, match="read-only"):
            project.record_inspection("a", "cleared")


def test_a_newer_file_that_dropped_a_column_is_refused_even_read_only(from_the_future):
    path, _ = from_the_future
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE inspections DROP COLUMN note")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectError, match="table 'inspections' lacks column.s. note"):
        Project.open(path, read_only=True)
