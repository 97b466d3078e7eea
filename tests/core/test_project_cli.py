"""``etd project info`` and ``etd project export-list`` on a project made in the test."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.dataset import ConsumptionData
from core.project import Project

REPO = Path(__file__).resolve().parents[2]


def etd(*args: str) -> subprocess.CompletedProcess:
    # A child process with the repository first on its path, as the installed `etd` runs.
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--quiet", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "case.etdproj"
    kwh = np.arange(40, dtype=np.float32).reshape(4, 10)
    data = ConsumptionData(
        ["A", "B", "C", "D"],
        pd.date_range("2016-01-01", periods=10),
        kwh,
        [0, 1, 0, 1],
        source={"name": "meters.csv", "sha256": "0123456789abcdef" * 4},
    )
    scores = pd.DataFrame(
        {
            "customer": ["A", "B", "C", "D"],
            "score": [0.2, 0.9, 0.6, np.nan],
            "rank": pd.array([3, 1, 2, None], dtype="Int64"),
            "percentile": [33.3, 100.0, 66.7, np.nan],
            "flag": [False, True, True, False],
            "scorable": [True, True, True, False],
            "reason": ["", "", "", "no readings"],
        }
    )
    with Project.create(path) as project:
        dataset_id = project.add_dataset(data)
        run_id = project.add_run(
            {"models": ["gbm"], "dataset_id": dataset_id, "protocol": "honest", "device": "CPU"}
        )
        project.add_model_result(
            run_id,
            "gbm",
            metrics={"roc_auc": 0.8512, "pr_auc": 0.4321},
            threshold=0.5,
            scores=scores,
        )
        project.finish_run(run_id)
        project.record_inspection("B", "confirmed_theft", "2026-11-30", "magnet on the meter")
    return path, run_id


def test_info_lists_data_sets_runs_metrics_and_inspections(case):
    path, run_id = case
    result = etd("project", "info", str(path))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "schema version 2" in text
    assert "[1] meters.csv: 4 customers x 10 days (2016-01-01..2016-01-10)" in text
    assert f"[{run_id}] " in text and "protocol honest" in text and "finished" in text
    assert "gbm        ROC-AUC 0.851  PR-AUC 0.432  threshold 0.500  scores 4" in text
    assert "inspections: 1 customers (1 records): confirmed_theft 1" in text

    as_json = json.loads(etd("project", "info", str(path), "--json").stdout)
    assert as_json["runs"][0]["results"]["gbm"]["metrics"]["roc_auc"] == 0.8512
    assert as_json["datasets"][0]["theft"] == 2


def test_export_list_writes_the_ranked_visit_list(case, tmp_path):
    path, run_id = case
    out = tmp_path / "visits.csv"
    result = etd(
        "project",
        "export-list",
        str(path),
        "--run",
        str(run_id),
        "--model",
        "gbm",
        "--out",
        str(out),
        "--top",
        "2",
    )
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["customer"], r["rank"], r["outcome"]) for r in rows] == [
        ("B", "1", "confirmed theft"),
        ("C", "2", "not inspected"),
    ]
    assert rows[0]["note"] == "magnet on the meter"


def test_errors_name_the_file_and_print_no_traceback(case, tmp_path):
    path, _ = case
    result = etd(
        "project",
        "export-list",
        str(path),
        "--run",
        "9",
        "--model",
        "gbm",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"etd: error: {path}: there is no run 9"

    junk = tmp_path / "junk.etdproj"
    junk.write_text("hello")
    result = etd("project", "info", str(junk))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{junk}: not a project file (it is not an SQLite database)" in result.stderr
