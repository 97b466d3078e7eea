"""Project files as people really mishandle them: edited by hand, locked, read-only, forged."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.dataset import ConsumptionData
from core.errors import ProjectError
from core.project import Project, opening


@pytest.fixture
def saved(tmp_path):
    """A closed project with one data set and one run whose gbm model scored two customers."""
    path = tmp_path / "case.etdproj"
    data = ConsumptionData(
        ["A", "B"], pd.date_range("2016-01-01", periods=3), np.ones((2, 3), np.float32), [0, 1]
    )
    scores = pd.DataFrame(
        {
            "customer": ["A", "B"],
            "score": [0.2, 0.9],
            "rank": pd.array([2, 1], dtype="Int64"),
            "percentile": [50.0, 100.0],
            "flag": [False, True],
            "scorable": [True, True],
            "reason": ["", ""],
        }
    )
    with Project.create(path) as project:
        dataset_id = project.add_dataset(data)
        run_id = project.add_run({"models": ["gbm"], "dataset_id": dataset_id})
        project.add_model_result(run_id, "gbm", metrics={"roc_auc": 0.8}, threshold=0.5)
        project.add_scores(run_id, "gbm", scores)
        project.finish_run(run_id)
    return path


def edit(path, sql: str) -> None:
    """What a user does with the sqlite3 command-line tool."""
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_ids_rewritten_as_text_by_the_sqlite3_tool_still_load(saved):
    edit(saved, """UPDATE dataset_arrays SET data = '["A", "B"]' WHERE name = 'customer_ids'""")
    with Project.open(saved, read_only=True) as project:
        assert list(project.load_dataset(1).customer_ids) == ["A", "B"]


def test_ids_that_are_not_text_are_refused(saved):
    edit(saved, """UPDATE dataset_arrays SET data = '[1, {"x": 2}]' WHERE name = 'customer_ids'""")
    with (
        Project.open(saved, read_only=True) as project,
        pytest.raises(ProjectError, match="not all text"),
    ):
        project.load_dataset(1)


@pytest.mark.parametrize(
    "sql, message",
    [
        ("UPDATE datasets SET first_day = 'garbage'", "unreadable first day 'garbage'"),
        ("UPDATE datasets SET n_days = 'twenty'", "number of days is 'twenty'"),
    ],
)
def test_forged_data_set_rows_are_refused_when_listed(saved, sql, message):
    edit(saved, sql)
    with Project.open(saved, read_only=True) as project, pytest.raises(ProjectError, match=message):
        project.list_datasets()


def test_a_threshold_that_is_text_is_refused(saved):
    edit(saved, "UPDATE model_results SET threshold = 'abc'")
    with (
        Project.open(saved, read_only=True) as project,
        pytest.raises(ProjectError, match="threshold is 'abc', not a number"),
    ):
        project.list_runs()


def test_a_score_that_is_text_refuses_the_visit_list_and_writes_no_file(saved, tmp_path):
    edit(saved, "UPDATE scores SET score = 'high' WHERE customer = 'B'")
    out = tmp_path / "list.csv"
    with (
        Project.open(saved, read_only=True) as project,
        pytest.raises(ProjectError, match="customer B: score is 'high'"),
    ):
        project.export_inspection_list(out, 1, "gbm")
    assert not out.exists()


def test_a_file_with_a_trigger_is_refused(saved):
    edit(saved, "CREATE TRIGGER wipe AFTER INSERT ON inspections BEGIN DELETE FROM scores; END")
    for read_only in (False, True):
        with pytest.raises(ProjectError, match="trigger.*'wipe'"):
            Project.open(saved, read_only=read_only)


def test_a_project_locked_by_another_program_says_so(saved, monkeypatch):
    monkeypatch.setattr(opening, "BUSY_TIMEOUT_MS", 50)
    other = sqlite3.connect(saved, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProjectError) as refused:
            Project.open(saved)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "database is locked" in str(refused.value)
    assert "Another program or workbench window" in str(refused.value)
    assert "damaged" not in str(refused.value)


def test_a_second_writer_waits_for_the_first_then_gets_a_message(saved, monkeypatch):
    monkeypatch.setattr(opening, "BUSY_TIMEOUT_MS", 50)
    with Project.open(saved) as first, Project.open(saved) as second:
        with first._writing("hold the file") as conn:
            conn.execute("DELETE FROM inspections")
            with pytest.raises(ProjectError, match="Another program or workbench window"):
                second.record_inspection("A", "cleared")
        second.record_inspection("A", "cleared")  # once the first is done, it works
        assert list(second.inspections()["customer"]) == ["A"]


def test_a_read_only_file_opened_for_editing_is_refused_up_front(saved, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(
        opening.os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode)
    )
    with pytest.raises(ProjectError, match="read-only on disk") as refused:
        Project.open(saved)
    assert "Open the project read-only" in str(refused.value)
    with Project.open(saved, read_only=True) as project:
        assert project.list_datasets()[0]["customers"] == 2


def test_creating_a_project_in_a_missing_folder_or_over_a_folder(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        Project.create(tmp_path / "no such folder" / "work.etdproj")
    with pytest.raises(ProjectError, match="is a folder"):
        Project.create(tmp_path)


def test_project_info_on_a_hand_edited_file_is_a_message(saved, capsys):
    edit(saved, "ALTER TABLE datasets DROP COLUMN notes_json")
    assert main(["--quiet", "project", "info", str(saved)]) == 2
    err = capsys.readouterr().err
    assert "lacks column(s) notes_json" in err
    assert "Traceback" not in err


def test_project_info_json_on_an_intact_file(saved, capsys):
    assert main(["--quiet", "project", "info", str(saved), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["datasets"][0]["customers"] == 2
    assert summary["runs"][0]["results"]["gbm"]["threshold"] == 0.5


def test_save_as_into_a_missing_folder_keeps_working_in_the_original(saved, tmp_path):
    with Project.open(saved) as project:
        with pytest.raises(ProjectError, match="does not exist"):
            project.save_as(tmp_path / "gone" / "copy.etdproj")
        assert project.path == saved
        project.record_inspection("A", "cleared")
