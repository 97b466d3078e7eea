"""A trained model with everything needed to score new customers, saved without pickle.

An artifact is a folder::

    manifest.json      what the model is, how its data were prepared, checksums of every file
    model/             the model files (TrainedModel.save: model.keras or the boosting JSON/npz)
    recipe/            the fitted preparation's arrays, one .npy file each (allow_pickle=False)

``manifest.json`` holds the model name and settings, the day count and calendar the model was
trained on (first day, number of days), the series layout, the flagging threshold, the test
metrics, the preparation recipe and its fitted state (JSON part inline, arrays by file name),
the library versions that wrote it, the time it was made, the sha256 of every file and a
checksum of the manifest itself.

:func:`load_artifact` checks every checksum before reading anything, so a file edited or
swapped by hand is refused with :class:`~core.errors.ArtifactError`, as is an artifact whose
parts disagree (model and manifest of different day counts). Every file of the model and recipe
folders must be listed with its checksum, no listed file may lie outside the artifact folder,
and a Keras file whose configuration holds Python code (a ``Lambda`` layer) is refused before
Keras reads it; Keras itself then loads in safe mode.

The checksums catch damage and mix-ups, not a determined forger: anyone can rewrite them, and
a forged threshold or metric inside [0, 1] is accepted. Code never runs either way.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ArtifactError

log = logging.getLogger(__name__)

FORMAT = "etd-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_DIR = "model"
RECIPE_DIR = "recipe"
VERSIONED = ("etd-workbench", "numpy", "pandas", "scikit-learn", "tensorflow", "keras")
# Keras layer classes whose saved configuration carries Python code to run at load time
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "__lambda__"})
KERAS_CONFIG_LIMIT = 64 << 20  # bytes: a larger config.json is no model of this program


@dataclass
class Artifact:
    """A loaded artifact: the model, its fitted preparation, threshold and calendar."""

    directory: Path
    manifest: dict
    trained: Any  # core.training.TrainedModel
    fitted_recipe: Any  # core.recipe.FittedRecipe
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.manifest["model"]

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])

    @property
    def n_days(self) -> int:
        return int(self.manifest["calendar"]["n_days"])

    @property
    def first_day(self) -> str:
        return str(self.manifest["calendar"]["first_day"])

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    @property
    def protocol(self) -> str:
        return str(self.metrics.get("protocol", ""))

    def check_calendar(self, data) -> list[str]:
        """Refuse data of another day count; a different first day is allowed, with a note.

        Scoring the latest months of the same customers is the usual use, so only the length
        must match. Returns the notes to show the user.
        """
        if data.n_days != self.n_days:
            raise ArtifactError(
                f"The model {self.name!r} was trained on {self.n_days:,} days "
                f"(from {self.first_day}); the data set has {data.n_days:,} days"
                + (f" (from {data.days[0].date()})" if data.n_days else "")
                + ".",
                hint="Score a data set covering the same number of days, or train a model on "
                "this one.",
            )
        notes = []
        first = data.days[0].date().isoformat()
        if first != self.first_day:
            notes.append(
                f"The model was trained on days from {self.first_day}; these data start on "
                f"{first}. Same length, so the days are compared position by position."
            )
        return notes


# checksums ------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that shape a model, read without importing them."""
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _json_ready(value):
    """Plain JSON types (numpy scalars and arrays converted, NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


# saving ---------------------------------------------------------------------------------------
def _array_file_name(key: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", key).strip("._") or "array"
    name, i = f"{stem}.npy", 1
    while name in used:
        name, i = f"{stem}_{i}.npy", i + 1
    used.add(name)
    return name


def save_artifact(
    directory, trained, fitted_recipe, *, threshold: float, metrics: dict, calendar: dict
) -> Path:
    """Write ``trained`` and ``fitted_recipe`` as an artifact folder; return the folder.

    ``calendar`` is ``{"first_day": ISO date, "n_days": int}`` of the data the model was
    trained on. An existing artifact in ``directory`` is replaced.
    """
    directory = Path(directory)
    if (directory / MANIFEST).exists():
        _remove_artifact(directory)
    directory.mkdir(parents=True, exist_ok=True)

    model_paths = trained.save(directory / MODEL_DIR)

    meta, arrays = fitted_recipe.to_json_and_arrays()
    (directory / RECIPE_DIR).mkdir(exist_ok=True)
    array_files, used = {}, set()
    for key, array in arrays.items():
        array = np.asarray(array)
        if array.dtype == object:
            raise ArtifactError(f"The fitted recipe's array {key!r} holds Python objects.")
        name = _array_file_name(key, used)
        np.save(directory / RECIPE_DIR / name, array, allow_pickle=False)
        array_files[key] = f"{RECIPE_DIR}/{name}"

    # every file of both folders, so that loading can refuse any file without a checksum
    files = sorted(
        {p.relative_to(directory).as_posix() for p in model_paths if Path(p).is_file()}
        | {p.relative_to(directory).as_posix() for part in (MODEL_DIR, RECIPE_DIR)
           for p in (directory / part).rglob("*") if p.is_file()}
    )  # fmt: skip
    described = trained.describe()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": trained.name,
        "params": described.get("params", {}),
        "n_days": int(trained.n_days),
        "layout": described.get("layout"),
        "calendar": {"first_day": str(calendar["first_day"]), "n_days": int(calendar["n_days"])},
        "threshold": float(threshold),
        "metrics": metrics,
        "trained": {k: v for k, v in described.items() if k != "history"},
        "recipe": meta,
        "recipe_arrays": array_files,
        "versions": library_versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {rel: _sha256(directory / rel) for rel in files},
    }
    manifest = _json_ready(manifest)
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    text = json.dumps(manifest, indent=2, allow_nan=False)
    (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")
    log.info("artifact for %s written to %s (%d files)", trained.name, directory, len(files))
    return directory


def _remove_artifact(directory: Path) -> None:
    """Delete what an earlier save wrote (only the artifact's own parts)."""
    import shutil

    for part in (MODEL_DIR, RECIPE_DIR):
        if (directory / part).is_dir():
            shutil.rmtree(directory / part)
    (directory / MANIFEST).unlink()


# loading --------------------------------------------------------------------------------------
def read_manifest(directory) -> dict:
    """The verified manifest of an artifact folder (checksums of every file included)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(
            f"{directory}: no {MANIFEST} here, so this is not a saved model.",
            hint="Choose the folder of a model written by 'etd train' or the Train page.",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(f"{path}: cannot be read as JSON ({err}).") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not an artifact manifest of this program.")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ArtifactError(f"{path}: the manifest has no format version.")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: written by a newer version (format {manifest.get('format_version')}).",
            hint="Update the workbench to load it.",
        )
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ArtifactError(
            f"{path}: the manifest was changed after the model was saved.",
            hint="Export the model again from the run that made it.",
        )

    _check_fields(manifest, path)
    files = manifest["files"]
    for rel, expected in files.items():
        target = (directory / rel).resolve()
        if directory.resolve() not in target.parents:
            raise ArtifactError(f"{path}: lists a file outside the artifact folder: {rel!r}.")
        if not target.is_file():
            raise ArtifactError(f"{directory}: the file {rel} is missing.")
        if _sha256(target) != expected:
            raise ArtifactError(
                f"{directory / rel}: the file does not match its checksum; it was changed or "
                "damaged after the model was saved.",
                hint="Export the model again from the run that made it.",
            )
    for rel in manifest.get("recipe_arrays", {}).values():
        if rel not in files:
            raise ArtifactError(f"{path}: the recipe file {rel} has no checksum.")
    for part in (MODEL_DIR, RECIPE_DIR):
        for extra in sorted((directory / part).rglob("*")):
            rel = extra.relative_to(directory).as_posix()
            if not extra.is_dir() and rel not in files:
                raise ArtifactError(
                    f"{directory}: the file {rel} is not listed in the manifest, so it cannot be "
                    "checked.",
                    hint="Remove it, or export the model again from the run that made it.",
                )
    return manifest


def _check_fields(manifest: dict, path: Path) -> None:
    """The fields loading relies on, with the right types (a forged manifest may lack them)."""
    files = manifest.get("files")
    calendar = manifest.get("calendar")
    threshold = manifest.get("threshold")
    problems = []
    if not isinstance(files, dict) or not files:
        problems.append("no file checksums")
    elif not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        problems.append("file checksums that are not text")
    if not isinstance(manifest.get("model"), str):
        problems.append("no model name")
    if not isinstance(manifest.get("n_days"), int) or not isinstance(calendar, dict):
        problems.append("no day count or calendar")
    elif not isinstance(calendar.get("n_days"), int) or not isinstance(
        calendar.get("first_day"), str
    ):
        problems.append("a calendar without first day or day count")
    elif calendar["n_days"] != manifest["n_days"]:
        problems.append(
            f"a calendar of {calendar['n_days']} days for a model of {manifest['n_days']} days"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        problems.append("no threshold")
    elif not 0.0 <= threshold <= 1.0:
        problems.append(f"a threshold of {threshold} (outside 0..1)")
    if not isinstance(manifest.get("recipe_arrays", {}), dict) or not isinstance(
        manifest.get("recipe"), dict
    ):
        problems.append("no preparation recipe")
    if problems:
        raise ArtifactError(
            f"{path}: the manifest has {', '.join(problems)}.",
            hint="Export the model again from the run that made it.",
        )


def _refuse_code_in_keras(path: Path) -> None:
    """Refuse a .keras file whose configuration carries Python code, reading only its JSON."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("config.json").file_size > KERAS_CONFIG_LIMIT:
                raise ArtifactError(f"{path}: the model configuration is implausibly large.")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(f"{path}: not a Keras model file ({err}).") from err

    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") in CODE_LAYERS:
                raise ArtifactError(
                    f"{path}: the model holds a {node['class_name']} layer, which carries Python "
                    "code; such models are never loaded.",
                    hint="Use a model trained by this program.",
                )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load_artifact(directory) -> Artifact:
    """Load and verify an artifact folder written by :func:`save_artifact`."""
    from core.recipe import FittedRecipe
    from core.training import load_trained

    directory = Path(directory)
    manifest = read_manifest(directory)

    arrays = {}
    for key, rel in manifest.get("recipe_arrays", {}).items():
        try:
            arrays[key] = np.load(directory / rel, allow_pickle=False)
        except ValueError as err:
            raise ArtifactError(f"{directory / rel}: not a plain numeric array ({err}).") from err
    try:
        fitted = FittedRecipe.from_json_and_arrays(manifest["recipe"], arrays)
    except ArtifactError as err:
        if str(directory) in err.message:
            raise
        raise ArtifactError(f"{directory}: {err.message}", hint=err.hint) from err
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise ArtifactError(
            f"{directory}: the stored preparation cannot be rebuilt ({err})."
        ) from err

    for rel in manifest["files"]:
        if rel.endswith(".keras"):
            _refuse_code_in_keras(directory / rel)
    try:
        trained = load_trained(directory / MODEL_DIR, manifest.get("trained"))
    except (KeyError, ValueError, TypeError, AttributeError) as err:  # a forged description
        raise ArtifactError(f"{directory}: the model description cannot be read ({err}).") from err
    if trained.name != manifest["model"] or int(trained.n_days) != int(manifest["n_days"]):
        raise ArtifactError(
            f"{directory}: the manifest describes {manifest['model']} on {manifest['n_days']} "
            f"days but the model files hold {trained.name} on {trained.n_days} days.",
            hint="The artifact was mixed up; export the model again.",
        )
    log.info("artifact %s loaded from %s", trained.name, directory)
    return Artifact(directory=directory, manifest=manifest, trained=trained, fitted_recipe=fitted)
