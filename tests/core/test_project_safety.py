"""A damaged, forged or foreign file is refused with a message naming it; nothing in it runs."""

from __future__ import annotations

import io
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.dataset import ConsumptionData
from core.errors import ArtifactError, ProjectError
from core.project import Project


def small_data(n_customers: int, n_days: int) -> ConsumptionData:
    kwh = np.random.default_rng(0).random((n_customers, n_days), dtype=np.float32)
    days = pd.date_range("2016-01-01", periods=n_days, freq="D")
    return ConsumptionData([f"C{i}" for i in range(n_customers)], days, kwh)


@pytest.fixture
def saved(tmp_path):
    """A closed project holding one 200 x 120 data set (bigger than one 64 KiB page)."""
    path = tmp_path / "case.etdproj"
    with Project.create(path) as project:
        dataset_id = project.add_dataset(small_data(200, 120))
    return path, dataset_id


def tamper(path, sql: str, *params) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def refused(path, match: str, **kwargs) -> ProjectError:
    with pytest.raises(ProjectError, match=match) as err:
        Project.open(path, **kwargs)
    assert str(path) in str(err.value)
    return err.value


def test_a_file_of_random_bytes_is_not_a_project(tmp_path):
    path = tmp_path / "photo.etdproj"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    refused(path, "not an SQLite database")


def test_an_empty_or_missing_file_is_refused(tmp_path):
    (tmp_path / "empty.etdproj").write_bytes(b"")
    refused(tmp_path / "empty.etdproj", "the file is empty")
    refused(tmp_path / "nowhere.etdproj", "no such file")
    assert not (tmp_path / "nowhere.etdproj").exists()  # opening never creates a file


def test_a_truncated_file_is_refused(saved):
    path, _ = saved
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    refused(path, "truncated")


def test_a_file_with_damaged_pages_is_refused(saved):
    path, _ = saved
    with open(path, "r+b") as handle:  # scribble over the second page (a table's b-tree page)
        handle.seek(65536)
        handle.write(b"\xff" * 4096)
    refused(path, "damaged")


def test_another_programs_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.etdproj"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id TEXT)")
    conn.commit()
    conn.close()
    refused(path, "not a project file of this program")


def test_a_project_with_a_table_missing_is_refused(saved):
    path, _ = saved
    tamper(path, "DROP TABLE scores")
    error = refused(path, "table 'scores' is missing")
    assert "damaged or made by another program" in error.hint


def test_a_blob_bigger_than_its_row_allows_is_refused(saved):
    path, dataset_id = saved
    tamper(
        path,
        "UPDATE dataset_arrays SET data = zeroblob(5000000) WHERE dataset_id = ? AND name = 'kwh'",
        dataset_id,
    )
    with Project.open(path) as project, pytest.raises(ProjectError) as err:
        project.load_dataset(dataset_id)
    assert str(path) in str(err.value)
    assert "readings is 5,000,000 bytes, more than the 96,000 bytes" in str(err.value)


def test_a_matrix_whose_header_disagrees_with_its_row_is_refused(saved):
    path, dataset_id = saved
    tamper(path, "UPDATE datasets SET n_days = 100 WHERE id = ?", dataset_id)
    with Project.open(path) as project, pytest.raises(ProjectError) as err:
        project.load_dataset(dataset_id)
    assert "readings claims shape (200, 120), but its record says (200, 100)" in str(err.value)

    tamper(path, "UPDATE datasets SET n_days = 120, n_customers = 150 WHERE id = ?", dataset_id)
    with Project.open(path) as project, pytest.raises(ProjectError, match="200 customer ids"):
        project.load_dataset(dataset_id)

    tamper(path, "UPDATE datasets SET n_customers = 2000000000 WHERE id = ?", dataset_id)
    with Project.open(path) as project, pytest.raises(ProjectError, match="claims 2000000000"):
        project.load_dataset(dataset_id)


def test_a_matrix_of_the_wrong_dtype_is_refused(saved):
    path, dataset_id = saved
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((200, 60), dtype=np.float64))  # same byte count as 200 x 120 f4
    tamper(
        path,
        "UPDATE dataset_arrays SET data = ? WHERE dataset_id = ? AND name = 'kwh'",
        buffer.getvalue(),
        dataset_id,
    )
    with Project.open(path) as project, pytest.raises(ProjectError, match="stored as <f8"):
        project.load_dataset(dataset_id)


class _Trap:
    """Unpickling this would create a folder: proof that the project never unpickles."""

    marker = ""

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_an_object_array_is_refused_without_being_unpickled(saved, tmp_path):
    path, dataset_id = saved
    trap = _Trap()
    trap.marker = str(tmp_path / "code-ran")
    buffer = io.BytesIO()
    np.save(buffer, np.array([trap] * 200, dtype=object), allow_pickle=True)
    tamper(
        path,
        "UPDATE dataset_arrays SET data = ? WHERE dataset_id = ? AND name = 'labels'",
        buffer.getvalue(),
        dataset_id,
    )
    with Project.open(path) as project, pytest.raises(ProjectError, match="Python objects"):
        project.load_dataset(dataset_id)
    assert not (tmp_path / "code-ran").exists()


def test_customer_ids_that_are_not_json_are_refused(saved):
    path, dataset_id = saved
    tamper(
        path,
        "UPDATE dataset_arrays SET data = ? WHERE dataset_id = ? AND name = 'customer_ids'",
        b"\x80\x04not json",
        dataset_id,
    )
    with Project.open(path) as project, pytest.raises(ProjectError, match="customer ids is not"):
        project.load_dataset(dataset_id)


def test_an_artifact_file_name_leaving_its_folder_is_refused(tmp_path):
    path = tmp_path / "case.etdproj"
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    with Project.create(path) as project:
        run_id = project.add_run({"models": ["gbm"]})
        project.add_model_result(run_id, "gbm", metrics={}, artifact_dir=folder)
    tamper(path, "UPDATE artifact_files SET relpath = '../../evil.sh'")

    with Project.open(path) as project, pytest.raises(ProjectError, match="leaves its folder"):
        project.extract_artifact(run_id, "gbm", tmp_path / "out")
    assert not (tmp_path / "evil.sh").exists()

    tamper(path, "UPDATE artifact_files SET relpath = 'manifest.json', data = X'00'")
    with Project.open(path) as project, pytest.raises(ProjectError, match="stored checksum"):
        project.extract_artifact(run_id, "gbm", tmp_path / "out")


def test_scores_or_metrics_of_the_wrong_kind_are_refused(tmp_path):
    path = tmp_path / "case.etdproj"
    with Project.create(path) as project:
        run_id = project.add_run({"models": ["gbm"]})
        project.add_model_result(run_id, "gbm", metrics={"roc_auc": 0.8})
    tamper(
        path,
        "INSERT INTO scores VALUES (?, 'gbm', 'C1', 0.5, 'first', 99.0, 1, 1, '')",
        run_id,
    )
    tamper(path, "UPDATE model_results SET metrics_json = '[0.8]'")
    with Project.open(path) as project:
        with pytest.raises(ProjectError, match="scores of run 1 model gbm are unreadable"):
            project.scores(run_id, "gbm")
        with pytest.raises(ProjectError, match="metrics should be a JSON dict, not list") as err:
            project.list_runs()
    assert str(err.value).startswith(f"{path}: ")


def write_artifact(folder, hidden_layer):
    """A real artifact folder (core.artifact) around a tiny 8-day Keras model."""
    import keras

    from core.artifact import save_artifact
    from core.recipe import Recipe
    from core.training.trained import TrainedModel

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,))
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden_layer(inputs))
    trained = TrainedModel(
        name="mlp", params={}, n_days=8, layout=None, keras_model=keras.Model(inputs, outputs)
    )
    data = small_data(12, 8).with_labels(np.array([0, 1] * 6))
    fitted = Recipe(imputation="none", outlier_treatment="keep").fit(data)
    calendar = {"first_day": "2016-01-01", "n_days": 8}
    save_artifact(folder, trained, fitted, threshold=0.5, metrics={}, calendar=calendar)
    return trained, data


@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
def test_a_stored_model_loads_back_through_the_artifact_checks(tmp_path):
    import keras

    trained, data = write_artifact(tmp_path / "artifact", keras.layers.Dense(4))
    path = tmp_path / "case.etdproj"
    with Project.create(path) as project:
        run_id = project.add_run({"models": ["mlp"]})
        project.add_model_result(run_id, "mlp", metrics={}, artifact_dir=tmp_path / "artifact")

    with Project.open(path, read_only=True) as project:
        artifact = project.load_artifact(run_id, "mlp")
        scores = artifact.trained.predict(data.kwh)
        folder = artifact.directory
        assert folder.is_dir() and artifact.n_days == 8

    np.testing.assert_allclose(scores, trained.predict(data.kwh), rtol=1e-6)
    assert not folder.exists()  # the extracted copy goes when the project closes


@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
def test_a_model_with_a_lambda_layer_is_refused(tmp_path):
    import keras

    write_artifact(tmp_path / "artifact", keras.layers.Lambda(lambda x: x * 2.0))
    path = tmp_path / "case.etdproj"
    with Project.create(path) as project:
        run_id = project.add_run({"models": ["mlp"]})
        project.add_model_result(run_id, "mlp", metrics={}, artifact_dir=tmp_path / "artifact")

    with Project.open(path) as project, pytest.raises(ArtifactError) as err:
        project.load_artifact(run_id, "mlp")

    message = str(err.value)
    assert message.startswith(f"{path}: run {run_id} model mlp: ")
    # Refused by the artifact checks, whether they read the configuration or Keras safe mode does.
    assert "model.keras" in message and "Lambda" in message
