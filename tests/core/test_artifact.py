"""Saved models: they reload to the same scores, and tampered or mismatched ones are refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.artifact import MANIFEST, load_artifact, read_manifest
from core.demo import make_demo
from core.errors import ArtifactError
from core.protocol import run_experiment

# jit_compile off: on a busy CPU the XLA compile costs more than these tiny fits themselves
QUICK = {"gbm": {"max_iter": 30}, "mlp": {"jit_compile": False}}


@pytest.fixture(scope="module")
def data():
    return make_demo(n_customers=300, n_days=60, missing_rate=0.0, zero_rate=0.0, seed=5)


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_experiment(
        data, models=("gbm", "mlp"), model_params=QUICK, epochs=2, patience=2, out_dir=out
    )
    return result, out


@pytest.fixture
def copy_of(run, tmp_path):
    def copy(model: str):
        target = tmp_path / model
        shutil.copytree(run[1] / "artifacts" / model, target)
        return target

    return copy


@pytest.mark.parametrize("model", ["gbm", "mlp"])
def test_a_saved_artifact_reloads_and_gives_identical_scores(run, data, model):
    result, out = run
    outcome = result.outcomes[model]
    artifact = load_artifact(out / "artifacts" / model)

    assert artifact.name == model
    assert artifact.threshold == pytest.approx(outcome.threshold)
    assert artifact.n_days == 60 and artifact.first_day == data.days[0].date().isoformat()
    assert artifact.metrics["roc_auc"] == pytest.approx(outcome.metrics["roc_auc"])
    test = data.subset(np.isin(data.customer_ids, outcome.test_customers))
    prepared = artifact.fitted_recipe.transform(test)
    again = artifact.trained.predict(prepared.X)
    original = outcome.trained.predict(result.fitted_recipe.transform(test).X)
    np.testing.assert_array_equal(again, original)
    by_id = dict(zip(outcome.test_customers, outcome.test_scores, strict=True))
    expected = np.array([by_id[c] for c in prepared.data.customer_ids])
    np.testing.assert_allclose(again, expected, rtol=1e-6)


def test_manifest_records_versions_calendar_recipe_and_checksums(run):
    manifest = read_manifest(run[1] / "artifacts" / "gbm")
    assert manifest["calendar"] == {"first_day": "2014-01-01", "n_days": 60}
    assert manifest["versions"]["numpy"] == np.__version__
    assert manifest["recipe"]["recipe"]["missing_filter"]["threshold"] == 0.03
    assert any(rel.startswith("recipe/") for rel in manifest["files"])
    assert any(rel.startswith("model/") for rel in manifest["files"])
    assert all(len(digest) == 64 for digest in manifest["files"].values())
    assert manifest["created"].endswith("+00:00")


@pytest.mark.parametrize("model", ["gbm", "mlp"])
def test_a_model_file_with_one_byte_changed_is_refused(copy_of, model):
    folder = copy_of(model)
    target = next(p for p in sorted((folder / "model").iterdir()) if p.name != "trained.json")
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_artifact(folder)


def test_a_changed_recipe_array_or_manifest_is_refused(copy_of):
    folder = copy_of("gbm")
    array = next((folder / "recipe").glob("*.npy"))
    raw = bytearray(array.read_bytes())
    raw[-1] ^= 0x10
    array.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="checksum"):
        load_artifact(folder)

    folder = copy_of("mlp")
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["threshold"] = 0.01
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="manifest was changed"):
        load_artifact(folder)


def test_a_missing_file_or_folder_without_manifest_is_refused(copy_of, tmp_path):
    folder = copy_of("gbm")
    next((folder / "recipe").glob("*.npy")).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_artifact(folder)
    with pytest.raises(ArtifactError, match="not a saved model"):
        load_artifact(tmp_path / "nowhere")


def test_data_with_another_day_count_is_refused(run):
    from core.scoring import score

    artifact = load_artifact(run[1] / "artifacts" / "gbm")
    longer = make_demo(n_customers=30, n_days=61, missing_rate=0.0, zero_rate=0.0, seed=1)
    with pytest.raises(ArtifactError, match="trained on 60 days.*61 days"):
        score(artifact, longer)


def _forge(folder, edit=lambda manifest: None):
    """Rewrite the checksums as a determined forger would, after ``edit`` of the manifest."""
    from core.artifact import _manifest_digest, _sha256

    manifest = json.loads((folder / MANIFEST).read_text())
    edit(manifest)
    for rel in manifest.get("files", {}):
        if (folder / rel).is_file() and not rel.startswith(".."):
            manifest["files"][rel] = _sha256(folder / rel)
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_a_keras_model_with_a_lambda_layer_is_refused_without_running_its_code(copy_of, tmp_path):
    import keras

    folder = copy_of("mlp")
    witness = tmp_path / "code_ran"

    def payload(x):
        witness.write_text("the Lambda layer ran")
        return x

    inputs = keras.Input((60,))
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Lambda(payload)(inputs))
    keras.Model(inputs, outputs).save(folder / "model" / "model.keras")
    witness.unlink()  # building the model called it once; loading must not
    _forge(folder)

    with pytest.raises(ArtifactError, match="Lambda layer"):
        load_artifact(folder)
    assert not witness.exists()


def test_a_forged_manifest_pointing_outside_its_folder_is_refused(copy_of):
    folder = copy_of("gbm")

    def point_outside(manifest):
        manifest["files"]["../../etc/passwd"] = "0" * 64

    _forge(folder, point_outside)
    with pytest.raises(ArtifactError, match="outside the artifact folder"):
        load_artifact(folder)


def test_forged_manifests_without_checksums_or_with_odd_fields_are_refused(copy_of):
    folder = copy_of("gbm")
    (folder / "model" / "extra.json").write_text("{}")
    with pytest.raises(ArtifactError, match="extra.json is not listed"):
        load_artifact(folder)
    shutil.rmtree(folder)

    for edit, message in (
        (lambda m: m.update(files={}), "no file checksums"),
        (lambda m: m.update(threshold=7.0), "outside 0..1"),
        (lambda m: m.pop("calendar"), "no day count or calendar"),
        (lambda m: m["calendar"].update(n_days=26), "calendar of 26 days for a model of 60"),
        (lambda m: m.update(format_version="1"), "no format version"),
        (lambda m: m.update(recipe={"x": 1}), "preparation"),
    ):
        folder = copy_of("gbm")
        _forge(folder, edit)
        with pytest.raises(ArtifactError, match=message):
            load_artifact(folder)
        shutil.rmtree(folder)
