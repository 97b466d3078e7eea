"""Training runs, per-model results, model artifact files and scores in a project file.

A run is recorded when it starts (its parameters, protocol, split, device), each model's result
as that model finishes, and the run's end when it ends; a run whose end was never written was
interrupted. A model's artifact folder is kept file by file (relative name, sha256, bytes), and
extracting it back refuses names that would land outside the target folder.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ProjectError
from core.project.blobs import MAX_ARTIFACT_FILE_BYTES, dumps_json, loads_json

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("customer", "score", "rank", "percentile", "flag", "scorable", "reason")

# Metrics whose values are long point lists; run listings leave them out.
CURVE_SUFFIX = "_curve"


def insert_run(conn: sqlite3.Connection, record: dict[str, Any], *, started: str) -> int:
    if not isinstance(record, dict):
        raise ProjectError(f"a run record must be a dict, got {type(record).__name__}")
    dataset_id = record.get("dataset_id")
    if dataset_id is not None:
        found = conn.execute("SELECT 1 FROM datasets WHERE id = ?", (int(dataset_id),)).fetchone()
        if found is None:
            raise ProjectError(f"the run refers to data set {dataset_id}, which is not stored")
    models = record.get("models") or ()
    if isinstance(models, str):
        models = (models,)
    cursor = conn.execute(
        "INSERT INTO runs (dataset_id, protocol, models_json, seed, split_json, device,"
        " params_json, record_json, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            None if dataset_id is None else int(dataset_id),
            record.get("protocol"),
            dumps_json(list(models)),
            None if record.get("seed") is None else int(record["seed"]),
            dumps_json(record.get("split")),
            None if record.get("device") is None else str(record["device"]),
            dumps_json(record.get("params") or {}),
            dumps_json(record),
            str(record.get("started") or started),
        ),
    )
    return int(cursor.lastrowid)


def require_run(conn: sqlite3.Connection, run_id: int) -> None:
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (int(run_id),)).fetchone() is None:
        raise ProjectError(f"there is no run {run_id}")


def require_result(conn: sqlite3.Connection, run_id: int, model_name: str) -> None:
    found = conn.execute(
        "SELECT 1 FROM model_results WHERE run_id = ? AND model_name = ?",
        (int(run_id), str(model_name)),
    ).fetchone()
    if found is None:
        require_run(conn, run_id)
        raise ProjectError(f"run {run_id} has no result for model '{model_name}'")


def insert_model_result(
    conn: sqlite3.Connection,
    run_id: int,
    model_name: str,
    *,
    metrics: dict,
    history: dict,
    curves: dict,
    threshold: float | None,
    stopped: bool,
    seconds: float | None,
    created: str,
) -> None:
    require_run(conn, run_id)
    conn.execute(
        "INSERT INTO model_results (run_id, model_name, metrics_json, history_json, curves_json,"
        " threshold, stopped, seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            int(run_id),
            str(model_name),
            dumps_json(metrics or {}),
            dumps_json(history or {}),
            dumps_json(curves or {}),
            None if threshold is None else float(threshold),
            int(bool(stopped)),
            None if seconds is None else float(seconds),
            created,
        ),
    )


def finish(conn: sqlite3.Connection, run_id: int, *, ended: str, stopped: bool, warnings):
    require_run(conn, run_id)
    conn.execute(
        "UPDATE runs SET ended = ?, stopped = ?, warnings_json = ? WHERE id = ?",
        (ended, int(bool(stopped)), dumps_json([str(w) for w in warnings]), int(run_id)),
    )


# reading runs --------------------------------------------------------------------------------
def _run_summary(row: tuple) -> dict[str, Any]:
    run_id = row[0]
    what = f"run {run_id}"
    return {
        "id": run_id,
        "dataset_id": row[1],
        "protocol": row[2],
        "models": loads_json(row[3], f"{what}: models", expect=list) or [],
        "seed": row[4],
        "split": loads_json(row[5], f"{what}: split"),
        "device": row[6],
        "params": loads_json(row[7], f"{what}: parameters", expect=dict) or {},
        "started": row[8],
        "ended": row[9],
        "stopped": bool(row[10]),
        "warnings": loads_json(row[11], f"{what}: warnings", expect=list) or [],
        "finished": row[9] is not None,
    }


_RUN_COLUMNS = (
    "id, dataset_id, protocol, models_json, seed, split_json, device, params_json, started,"
    " ended, stopped, warnings_json"
)


def run_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every run, oldest first, each with ``results``: model -> scalar metrics and threshold."""
    runs = [_run_summary(r) for r in conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id")]
    by_id = {run["id"]: run for run in runs}
    for run in runs:
        run["results"] = {}
    rows = conn.execute(
        "SELECT run_id, model_name, metrics_json, threshold, stopped, seconds FROM model_results"
        " ORDER BY run_id, rowid"
    )
    for run_id, model, metrics_json, threshold, stopped, seconds in rows:
        if run_id not in by_id:  # a result whose run is gone: only a hand-edited file has one
            continue
        metrics = (
            loads_json(metrics_json, f"run {run_id} model {model}: metrics", expect=dict) or {}
        )
        what = f"run {run_id} model {model}"
        by_id[run_id]["results"][model] = {
            "metrics": {k: v for k, v in metrics.items() if not k.endswith(CURVE_SUFFIX)},
            "threshold": _optional_number(threshold, f"{what}: threshold"),
            "stopped": bool(stopped),
            "seconds": _optional_number(seconds, f"{what}: seconds"),
            "scores": _score_count(conn, run_id, model),
        }
    return runs


def run_detail(conn: sqlite3.Connection, run_id: int) -> dict[str, Any]:
    """One run in full: the record as given, and every model's metrics, history and curves."""
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (int(run_id),)).fetchone()
    if row is None:
        raise ProjectError(f"there is no run {run_id}")
    run = _run_summary(row)
    (record_json,) = conn.execute(
        "SELECT record_json FROM runs WHERE id = ?", (int(run_id),)
    ).fetchone()
    run["record"] = loads_json(record_json, f"run {run_id}: record", expect=dict)
    run["results"] = {}
    rows = conn.execute(
        "SELECT model_name, metrics_json, history_json, curves_json, threshold, stopped, seconds,"
        " created FROM model_results WHERE run_id = ? ORDER BY rowid",
        (int(run_id),),
    )
    for model, metrics, history, curves, threshold, stopped, seconds, created in rows:
        what = f"run {run_id} model {model}"
        run["results"][model] = {
            "metrics": loads_json(metrics, f"{what}: metrics", expect=dict) or {},
            "history": loads_json(history, f"{what}: history", expect=dict) or {},
            "curves": loads_json(curves, f"{what}: curves", expect=dict) or {},
            "threshold": _optional_number(threshold, f"{what}: threshold"),
            "stopped": bool(stopped),
            "seconds": _optional_number(seconds, f"{what}: seconds"),
            "created": created,
            "artifact_files": artifact_names(conn, run_id, model),
            "scores": _score_count(conn, run_id, model),
        }
    return run


def _optional_number(value, what: str) -> float | None:
    """A REAL column read back; SQLite lets a hand-edited file put text there."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    raise ProjectError(f"{what} is {value!r}, not a number")


def _score_count(conn: sqlite3.Connection, run_id: int, model: str) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM scores WHERE run_id = ? AND model_name = ?", (run_id, model)
    ).fetchone()
    return int(count)


# artifact files ------------------------------------------------------------------------------
def _safe_relpath(name: str, what: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder, or ProjectError."""
    path = PurePosixPath(name)
    if (
        not name
        or len(name) > 255
        or "\\" in name
        or "\x00" in name
        or path.is_absolute()
        or ":" in path.parts[0]
        or any(part in ("", ".", "..") for part in path.parts)
    ):
        raise ProjectError(f"{what}: refusing the file name {name!r} (it leaves its folder)")
    return path


def insert_artifact_files(conn: sqlite3.Connection, run_id: int, model: str, folder: Path):
    folder = Path(folder)
    if not folder.is_dir():
        raise ProjectError(f"the artifact folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise ProjectError(f"the artifact folder {folder} holds no files")
    for path in files:
        relpath = path.relative_to(folder).as_posix()
        _safe_relpath(relpath, f"artifact folder {folder}")
        data = path.read_bytes()
        if len(data) > MAX_ARTIFACT_FILE_BYTES:
            raise ProjectError(f"{path} is {len(data):,} bytes, over the per-file limit")
        conn.execute(
            "INSERT INTO artifact_files (run_id, model_name, relpath, sha256, data)"
            " VALUES (?, ?, ?, ?, ?)",
            (int(run_id), str(model), relpath, hashlib.sha256(data).hexdigest(), data),
        )
    log.info("stored %d artifact file(s) of run %s model %s", len(files), run_id, model)


def artifact_names(conn: sqlite3.Connection, run_id: int, model: str) -> list[str]:
    rows = conn.execute(
        "SELECT relpath FROM artifact_files WHERE run_id = ? AND model_name = ? ORDER BY relpath",
        (int(run_id), str(model)),
    )
    return [name for (name,) in rows]


def extract_artifact_files(conn: sqlite3.Connection, run_id: int, model: str, target: Path):
    """Write the stored files under ``target``; checks names, sizes and checksums first."""
    what = f"run {run_id} model {model}: artifact"
    rows = conn.execute(
        "SELECT relpath, sha256, length(data), rowid FROM artifact_files"
        " WHERE run_id = ? AND model_name = ? ORDER BY relpath",
        (int(run_id), str(model)),
    ).fetchall()
    if not rows:
        raise ProjectError(f"{what} has no stored files (the model was saved without them)")
    target = Path(target)
    for relpath, sha256, size, rowid in rows:
        name = _safe_relpath(str(relpath), what)
        if size is None or size > MAX_ARTIFACT_FILE_BYTES:
            raise ProjectError(f"{what}: file {relpath} is {size or 0:,} bytes, over the limit")
        (data,) = conn.execute(
            "SELECT data FROM artifact_files WHERE rowid = ?", (rowid,)
        ).fetchone()
        data = bytes(data)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ProjectError(f"{what}: file {relpath} does not match its stored checksum")
        out = target.joinpath(*name.parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return target


# scores --------------------------------------------------------------------------------------
def replace_scores(conn: sqlite3.Connection, run_id: int, model: str, frame: pd.DataFrame):
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
    if missing:
        raise ProjectError(f"the scores lack column(s) {', '.join(missing)}")
    require_result(conn, run_id, model)
    conn.execute("DELETE FROM scores WHERE run_id = ? AND model_name = ?", (run_id, model))

    def number(value, kind):
        return None if value is None or pd.isna(value) else kind(value)

    reasons = frame["reason"].astype(object).where(frame["reason"].notna(), "")
    rows = (
        (
            int(run_id),
            str(model),
            str(customer),
            number(score, float),
            number(rank, int),
            number(percentile, float),
            int(bool(flag)) if not pd.isna(flag) else 0,
            int(bool(scorable)),
            str(reason),
        )
        for customer, score, rank, percentile, flag, scorable, reason in zip(
            frame["customer"],
            frame["score"],
            frame["rank"],
            frame["percentile"],
            frame["flag"],
            frame["scorable"],
            reasons,
            strict=True,
        )
    )
    conn.executemany(
        "INSERT INTO scores (run_id, model_name, customer, score, rank, percentile, flag,"
        " scorable, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def read_scores(conn: sqlite3.Connection, run_id: int, model: str) -> pd.DataFrame:
    """Scores ordered by rank (unscorable customers last): dtypes str, float, Int64, float,
    bool, bool, str."""
    require_result(conn, run_id, model)
    rows = conn.execute(
        "SELECT customer, score, rank, percentile, flag, scorable, reason FROM scores"
        " WHERE run_id = ? AND model_name = ? ORDER BY rank IS NULL, rank, customer",
        (int(run_id), str(model)),
    ).fetchall()
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    try:
        return _typed_scores(frame)
    except (TypeError, ValueError) as err:
        message = f"the scores of run {run_id} model {model} are unreadable ({err})"
        raise ProjectError(message) from None


def _typed_scores(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": frame["customer"].astype(str),
            "score": pd.to_numeric(frame["score"], errors="coerce").astype(np.float64),
            "rank": pd.array(frame["rank"].tolist(), dtype="Int64"),
            "percentile": pd.to_numeric(frame["percentile"], errors="coerce").astype(np.float64),
            "flag": frame["flag"].astype(bool),
            "scorable": frame["scorable"].astype(bool),
            "reason": frame["reason"].astype(str),
        }
    )
