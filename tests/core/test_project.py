"""The project file keeps every kind of content exactly, and behaves as a desktop file should."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.dataset import ConsumptionData, ImportNote
from core.errors import ProjectError
from core.project import OUTCOMES, SCHEMA_VERSION, Project


def small_data(n_customers: int = 6, n_days: int = 10, seed: int = 0) -> ConsumptionData:
    rng = np.random.default_rng(seed)
    kwh = rng.gamma(2.0, 3.0, size=(n_customers, n_days)).astype(np.float32)
    kwh[0, 2] = np.nan
    kwh[1, :3] = np.nan
    kwh[2, 5] = 0.0
    labels = np.array([0, 1, -1, 0, 1, 0][:n_customers] + [0] * max(0, n_customers - 6))
    return ConsumptionData(
        [f"C{i:03d}" for i in range(n_customers)],
        pd.date_range("2015-02-27", periods=n_days, freq="D"),
        kwh,
        labels,
        notes=[ImportNote("days_inserted", "1 missing day was inserted", 1, ["2015-03-01"])],
        source={"name": "meters.csv", "sha256": "ab" * 32, "format": "csv", "layout": "wide"},
    )


def score_frame(customers, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(len(customers))
    score[-1] = np.nan  # the last customer could not be scored
    order = np.argsort(-np.nan_to_num(score, nan=-1.0), kind="stable")
    rank = np.empty(len(customers), dtype=float)
    rank[order] = np.arange(1, len(customers) + 1)
    rank[-1] = np.nan
    return pd.DataFrame(
        {
            "customer": list(customers),
            "score": score,
            "rank": pd.array([None if np.isnan(r) else int(r) for r in rank], dtype="Int64"),
            "percentile": np.where(np.isnan(score), np.nan, 100.0 * (1 - rank / len(customers))),
            "flag": np.nan_to_num(score) > 0.5,
            "scorable": ~np.isnan(score),
            "reason": ["" if not np.isnan(s) else "too few readings" for s in score],
        }
    )


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "case.etdproj") as p:
        yield p


def test_a_data_set_comes_back_identical_after_reopening(tmp_path):
    data = small_data()
    with Project.create(tmp_path / "case.etdproj") as project:
        dataset_id = project.add_dataset(data, name="March import")

    with Project.open(tmp_path / "case.etdproj") as project:
        back = project.load_dataset(dataset_id)
        listed = project.list_datasets()

    np.testing.assert_array_equal(back.kwh, data.kwh)  # NaN in the same cells
    assert np.isnan(back.kwh[1, :3]).all() and back.kwh[2, 5] == 0.0
    assert back.kwh.dtype == np.float32 and back.kwh.flags.writeable
    assert list(back.customer_ids) == list(data.customer_ids)
    np.testing.assert_array_equal(back.labels, [0, 1, -1, 0, 1, 0])
    assert back.days.equals(data.days)
    assert back.notes == data.notes
    assert back.source == data.source
    assert listed == [
        {
            "id": dataset_id,
            "name": "March import",
            "created": listed[0]["created"],
            "customers": 6,
            "days": 10,
            "first_day": "2015-02-27",
            "last_day": "2015-03-08",
            "theft": 2,
            "normal": 3,
            "unlabelled": 1,
            "source_name": "meters.csv",
            "sha256": "ab" * 32,
            "bytes": listed[0]["bytes"],
        }
    ]
    assert listed[0]["bytes"] > 6 * 10 * 4


def test_a_cleaned_version_keeps_its_recipe_report_and_readings(project):
    data = small_data()
    dataset_id = project.add_dataset(data)
    cleaned = data.subset([0, 2, 3]).with_kwh(np.ones((3, 10), np.float32))
    recipe = {"missing": {"threshold": 0.03, "zeros_as_missing": True}, "imputation": "knn"}
    report = {"dropped": {"C001": "too many missing days"}, "imputed_cells": 1}

    cleaned_id = project.add_cleaned(dataset_id, recipe, report, cleaned)
    back = project.load_cleaned(cleaned_id)

    assert (back.id, back.dataset_id) == (cleaned_id, dataset_id)
    assert back.recipe == recipe and back.report == report
    assert list(back.data.customer_ids) == ["C000", "C002", "C003"]
    np.testing.assert_array_equal(back.data.kwh, np.ones((3, 10)))
    assert [c["id"] for c in project.list_cleaned(dataset_id)] == [cleaned_id]
    assert [d["id"] for d in project.list_datasets()] == [dataset_id]  # versions listed apart
    with pytest.raises(ProjectError, match="no data set"):
        project.load_dataset(cleaned_id)
    with pytest.raises(ProjectError, match="no data set 99"):
        project.add_cleaned(99, recipe, report, cleaned)


def test_a_run_keeps_parameters_metrics_history_curves_and_artifact_bytes(project, tmp_path):
    dataset_id = project.add_dataset(small_data())
    record = {
        "params": {"mlp": {"units": [1034, 365], "dropout": np.float64(0.5)}},
        "protocol": "honest",
        "models": ["mlp", "gbm"],
        "seed": 7,
        "split": [0.64, 0.16, 0.2],
        "dataset_id": dataset_id,
        "device": "CPU",
        "started": "2026-12-01T09:00:00+00:00",
    }
    run_id = project.add_run(record)
    folder = tmp_path / "artifact"
    (folder / "gbm").mkdir(parents=True)
    (folder / "manifest.json").write_text('{"files": {}}')
    (folder / "gbm" / "trees.npy").write_bytes(bytes(range(256)) * 3)
    metrics = {"roc_auc": 0.81, "pr_auc": 0.42, "kappa": float("nan"), "roc_curve": [[0, 1]]}
    history = {"loss": [0.7, 0.5, 0.4], "val_roc_auc": [0.6, 0.7, 0.75]}
    curves = {"roc": {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.8, 1.0]}}

    project.add_model_result(
        run_id,
        "gbm",
        metrics=metrics,
        history=history,
        curves=curves,
        threshold=0.37,
        stopped=False,
        seconds=12.5,
        artifact_dir=folder,
    )
    project.add_model_result(run_id, "mlp", metrics={"roc_auc": 0.7}, stopped=True)
    project.finish_run(run_id, stopped=True, warnings=["mlp stopped by the user"])

    full = project.run(run_id)
    gbm = full["results"]["gbm"]
    assert full["record"]["params"]["mlp"]["dropout"] == 0.5
    assert (full["protocol"], full["seed"], full["device"]) == ("honest", 7, "CPU")
    assert full["split"] == [0.64, 0.16, 0.2] and full["models"] == ["mlp", "gbm"]
    assert full["started"] == "2026-12-01T09:00:00+00:00" and full["ended"]
    assert full["stopped"] and full["warnings"] == ["mlp stopped by the user"]
    assert gbm["history"] == history and gbm["curves"] == curves
    assert gbm["metrics"]["roc_auc"] == 0.81 and np.isnan(gbm["metrics"]["kappa"])
    assert (gbm["threshold"], gbm["seconds"], gbm["stopped"]) == (0.37, 12.5, False)
    assert gbm["artifact_files"] == ["gbm/trees.npy", "manifest.json"]
    assert full["results"]["mlp"]["stopped"]

    listed = project.list_runs()
    assert [r["id"] for r in listed] == [run_id]
    assert "roc_curve" not in listed[0]["results"]["gbm"]["metrics"]
    assert listed[0]["results"]["gbm"]["metrics"]["pr_auc"] == 0.42

    out = project.extract_artifact(run_id, "gbm", tmp_path / "back")
    assert (out / "gbm" / "trees.npy").read_bytes() == bytes(range(256)) * 3
    assert (out / "manifest.json").read_text() == '{"files": {}}'


def test_scores_round_trip_with_unscorable_customers_last(project):
    data = small_data()
    run_id = project.add_run({"models": ["mlp"], "dataset_id": project.add_dataset(data)})
    frame = score_frame(data.customer_ids)
    project.add_model_result(run_id, "mlp", metrics={}, scores=frame)

    back = project.scores(run_id, "mlp")

    expected = frame.sort_values("rank", na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back["rank"].dtype == "Int64" and back["rank"].isna().tolist()[-1]
    assert back.iloc[-1]["reason"] == "too few readings"
    assert project.list_runs()[0]["results"]["mlp"]["scores"] == 6

    project.add_scores(run_id, "mlp", frame.iloc[:2])  # a new scoring replaces the old one
    assert len(project.scores(run_id, "mlp")) == 2
    with pytest.raises(ProjectError, match="no result for model 'cnn_lstm'"):
        project.add_scores(run_id, "cnn_lstm", frame)
    with pytest.raises(ProjectError, match="lack column"):
        project.add_scores(run_id, "mlp", frame.drop(columns="percentile"))


def test_inspections_keep_history_latest_wins_and_become_labels(project):
    dataset_id = project.add_dataset(small_data())  # labels 0, 1, -1, 0, 1, 0
    project.record_inspection("C000", "confirmed_theft", "2026-11-02", "bypass at the meter")
    project.record_inspection("C001", "cleared", dt.date(2026, 11, 3))
    project.record_inspection("C002", "could not access", note="dog")  # shown text accepted
    project.record_inspection("C001", "no_access", "2026-11-20", "second try, nobody home")

    current = project.inspections()
    history = project.inspection_history("C001")

    assert current["customer"].tolist() == ["C000", "C001", "C002"]
    assert current["outcome"].tolist() == ["confirmed_theft", "no_access", "no_access"]
    assert current.set_index("customer").loc["C000", "note"] == "bypass at the meter"
    assert current.set_index("customer").loc["C002", "inspected_on"] == dt.date.today().isoformat()
    assert history["outcome"].tolist() == ["cleared", "no_access"]
    assert history["inspected_on"].tolist() == ["2026-11-03", "2026-11-20"]
    # C000 confirmed -> 1 (was 0); C001's latest is "no access" -> keeps its label 1
    np.testing.assert_array_equal(project.inspection_labels(["C000", "C001", "X"]), [1, -1, -1])
    np.testing.assert_array_equal(project.labels_with_inspections(dataset_id), [1, 1, -1, 0, 1, 0])

    project.record_inspection("C003", "cleared")
    project.record_inspection("C004", "cleared")
    np.testing.assert_array_equal(project.labels_with_inspections(dataset_id), [1, 1, -1, 0, 0, 0])
    with pytest.raises(ProjectError, match="unknown inspection outcome 'stolen'") as err:
        project.record_inspection("C003", "stolen")
    assert all(o in str(err.value) for o in OUTCOMES)
    with pytest.raises(ProjectError, match="not a date"):
        project.record_inspection("C003", "cleared", "3rd of May")


def test_the_visit_list_is_ranked_and_shows_what_inspections_found(project, tmp_path):
    data = small_data()
    run_id = project.add_run({"models": ["gbm"], "dataset_id": project.add_dataset(data)})
    frame = score_frame(data.customer_ids)
    project.add_model_result(run_id, "gbm", metrics={}, scores=frame)
    top = frame.sort_values("rank").iloc[0]
    project.record_inspection(
        top["customer"], "confirmed_theft", "2026-11-05", "meter, seal broken"
    )

    count = project.export_inspection_list(tmp_path / "all.csv", run_id, "gbm")
    top3 = project.export_inspection_list(tmp_path / "top.csv", run_id, "gbm", top=3)

    with open(tmp_path / "all.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert (count, top3) == (6, 3)
    assert list(rows[0]) == [
        "customer",
        "rank",
        "score",
        "percentile",
        "flag",
        "outcome",
        "inspected_on",
        "note",
    ]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5", ""]
    assert rows[0]["customer"] == top["customer"]
    assert float(rows[0]["score"]) == pytest.approx(top["score"], abs=1e-6)
    assert (rows[0]["outcome"], rows[0]["inspected_on"]) == ("confirmed theft", "2026-11-05")
    assert rows[0]["note"] == "meter, seal broken"
    assert rows[1]["outcome"] == "not inspected"
    with open(tmp_path / "top.csv", encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == 4


def test_create_refuses_to_replace_a_file_unless_asked(tmp_path):
    path = tmp_path / "case.etdproj"
    Project.create(path).close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    with Project.create(path, overwrite=True) as project:
        assert project.list_datasets() == []
        assert project.schema_version == SCHEMA_VERSION
        assert project.meta()["app"] == "etd-workbench"


def test_the_file_is_a_single_file_with_a_rollback_journal(project):
    project.add_dataset(small_data())
    conn = sqlite3.connect(project.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    leftovers = [p.name for p in project.path.parent.iterdir() if p != project.path]
    assert leftovers == []


def test_save_as_copies_everything_and_moves_on_to_the_copy(project, tmp_path):
    dataset_id = project.add_dataset(small_data())
    original = project.path
    copy = project.save_as(tmp_path / "copy.etdproj")
    project.record_inspection("C000", "cleared")

    assert project.path == copy
    with Project.open(original, read_only=True) as first:
        assert len(first.inspections()) == 0
        assert first.load_dataset(dataset_id).n_customers == 6
    assert len(project.inspections()) == 1
    with pytest.raises(ProjectError, match="already exists"):
        project.save_as(original)
    project.save_as(tmp_path / "snapshot.etdproj", switch=False)
    assert project.path == copy


def test_a_read_only_project_refuses_changes(tmp_path):
    path = tmp_path / "case.etdproj"
    Project.create(path).close()
    with (
        Project.open(path, read_only=True) as project,
        pytest.raises(ProjectError, match="read-only; cannot record the inspection"),
    ):
        project.record_inspection("C000", "cleared")
    with Project.open(path) as project:
        assert project.inspections().empty


def test_a_failed_step_leaves_nothing_half_written(project):
    with pytest.raises(ProjectError, match="data set 5, which is not stored"):
        project.add_run({"models": ["mlp"], "dataset_id": 5})
    run_id = project.add_run({"models": ["mlp"]})
    with pytest.raises(ProjectError, match="artifact folder .* does not exist"):
        project.add_model_result(run_id, "mlp", metrics={"roc_auc": 0.5}, artifact_dir="/nowhere")
    assert project.run(run_id)["results"] == {}  # the metrics row was rolled back with it
    with pytest.raises(ProjectError, match="no run 42"):
        project.finish_run(42)


def test_a_cancelled_save_stores_nothing(project):
    from core.tasks import Cancelled, TaskState

    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        project.add_dataset(small_data(), state=state)
    assert project.list_datasets() == []


class _WithoutBlobIO:
    """A connection as Python 3.10 has it: no incremental blob I/O (Connection.blobopen)."""

    def __init__(self, conn: sqlite3.Connection):
        self.execute = conn.execute


def test_python_3_10_without_blob_io_writes_and_reads_the_same_bytes(tmp_path):
    from core.project.blobs import read_array, store_array

    conn = sqlite3.connect(tmp_path / "plain.sqlite")
    conn.execute("CREATE TABLE arrays (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
    matrix = small_data().kwh
    store_array(conn, "arrays", {"name": "streamed"}, matrix)
    store_array(_WithoutBlobIO(conn), "arrays", {"name": "plain"}, matrix)

    streamed, plain = (
        conn.execute("SELECT data FROM arrays WHERE name = ?", (name,)).fetchone()[0]
        for name in ("streamed", "plain")
    )
    back = read_array(
        _WithoutBlobIO(conn),
        "arrays",
        {"name": "streamed"},
        dtype=np.float32,
        shape=(6, 10),
        what="the matrix",
    )
    assert streamed == plain
    np.testing.assert_array_equal(back, matrix)
    assert back.flags.writeable
    with pytest.raises(ProjectError, match="the matrix claims shape .6, 10., but its record"):
        read_array(
            _WithoutBlobIO(conn),
            "arrays",
            {"name": "plain"},
            dtype="<f4",
            shape=(5, 12),
            what="the matrix",
        )
