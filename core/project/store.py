"""The project file: everything an inspector's weeks of work produce, in one SQLite file.

Durability. Every step (a data set imported, a cleaned version, a run started, a model's
result, scores, an inspection) is one transaction, committed when the step ends; there is no
separate save. The file uses SQLite's rollback journal (``journal_mode=DELETE``) with
``synchronous=FULL``: a crash, power cut or kill at any moment leaves every committed step,
and SQLite undoes a half-written one from the ``-journal`` file on the next open. We chose the
rollback journal over WAL because a project is mailed and copied as a single file: with WAL,
committed steps can sit in a ``-wal`` file beside it until a checkpoint, and a copy of the main
file alone would silently lack them. WAL's strength, readers alongside a writer, buys nothing
for one desktop user, and a big matrix would be written twice (to the WAL, then back).

Safety. Opening a file from someone else runs no code from it: arrays are ``.npy`` images read
with their header checked against the row (no pickle), everything else is JSON or text, and
model files go through :func:`core.artifact.load_artifact` (Keras safe mode). Anything damaged,
forged or from another program is refused with a :class:`~core.errors.ProjectError` that names
the file and what is wrong.

Versions. A file from an older version is upgraded in place after a copy is written beside it
(``name.etdproj.bak-v1``). A file from a newer version is refused for editing; it may be opened
read-only as long as every table and column this version reads is there.

Threads. One connection, shared by the GUI thread and the worker threads under a lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.dataset import ConsumptionData
from core.errors import ArtifactError, EtdError, ProjectError
from core.project import datasets, inspection, opening, runs, schema
from core.project.opening import app_version, now
from core.project.schema import PAGE_SIZE, SCHEMA_VERSION
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

SUFFIX = ".etdproj"


class Project:
    """An open project file. Use :meth:`create` or :meth:`open`, and close it (or ``with``)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, read_only: bool):
        self._path = Path(path)
        self._conn = conn
        self._lock = threading.RLock()
        self.read_only = read_only
        self._extracted: list[Path] = []

    # opening and closing ---------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, overwrite: bool = False) -> Project:
        """A new, empty project at ``path``; refuses to replace an existing file by default."""
        path = Path(path)
        _check_new_path(path)
        if path.exists() and not overwrite:
            raise ProjectError(
                f"{path}: a file of that name already exists",
                hint="Choose another name, or confirm replacing it.",
            )
        for leftover in (path, _journal(path)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            opening.configure(conn, read_only=False)
            conn.execute("BEGIN IMMEDIATE")
            schema.create_tables(conn)
            created = now()
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("app", "etd-workbench"),
                    ("app_version", app_version()),
                    ("created", created),
                    ("schema_version", str(SCHEMA_VERSION)),
                ],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise ProjectError(f"{path}: cannot create the project file ({err})") from None
        log.info("created project %s (schema %d)", path, SCHEMA_VERSION)
        return cls(path, conn, read_only=False)

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False) -> Project:
        """Open an existing project, upgrading an older one (after a backup copy).

        Refused with ProjectError: a missing file, anything that is not an intact project file
        of ours, a newer version for editing, an older version read-only (it needs the upgrade).
        """
        path = Path(path)
        opening.check_header(path)
        if not read_only:
            opening.check_writable(path)
        uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "?mode=rw")
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise ProjectError(f"{path}: cannot open the file ({err})") from None
        try:
            opening.configure(conn, read_only=read_only)
            version = opening.check_identity(conn, path, read_only)
            opening.check_intact(conn, path)
            opening.check_no_triggers(conn, path)
            if version < SCHEMA_VERSION:
                opening.upgrade(conn, path, version)
            problems = schema.layout_problems(conn)
            if problems:
                raise ProjectError(
                    f"{path}: not a usable project file: {'; '.join(problems)}",
                    hint="The file may be damaged or made by another program.",
                )
        except ProjectError:
            conn.close()
            raise
        except sqlite3.Error as err:
            conn.close()
            hot_journal = read_only and _journal(path).exists()
            raise opening.open_failure(path, err, hot_journal=hot_journal) from None
        log.info("opened project %s (schema %d%s)", path, version, ", read-only" * read_only)
        return cls(path, conn, read_only=read_only)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Close the file (everything is already committed) and remove extracted models."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            for folder in self._extracted:
                shutil.rmtree(folder, ignore_errors=True)
            self._extracted.clear()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else ("read-only" if self.read_only else "open")
        return f"Project({str(self._path)!r}, {state})"

    def save_as(
        self,
        path: str | os.PathLike,
        *,
        overwrite: bool = False,
        switch: bool = True,
        state: TaskState | None = None,
    ) -> Path:
        """Copy the whole project to ``path`` (a consistent snapshot through SQLite's backup).

        With ``switch`` (the default, as in "Save as" of a desktop program) this Project goes on
        working in the copy; otherwise it stays on the original. Returns the copy's path.
        """
        path = Path(path)
        _check_new_path(path)
        if path.exists() and not overwrite:
            raise ProjectError(f"{path}: a file of that name already exists")
        if path.resolve() == self._path.resolve():
            raise ProjectError(f"{path}: that is the file already open")
        partial = path.with_name(path.name + ".partial")
        with self._lock:
            conn = self._require_open()
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()  # left by a copy that was cut short
            try:
                target = sqlite3.connect(partial, isolation_level=None)
                try:
                    conn.backup(target, pages=256, progress=_backup_progress(ensure_state(state)))
                    target.execute("PRAGMA journal_mode = DELETE")
                finally:
                    target.close()
                os.replace(partial, path)
            except (sqlite3.Error, OSError) as err:
                with contextlib.suppress(OSError):
                    partial.unlink()
                raise ProjectError(f"{path}: cannot write the copy ({err})") from None
            log.info("copied project %s to %s", self._path, path)
            if switch:
                read_only = self.read_only
                self.close()
                other = Project.open(path, read_only=read_only)
                self._path, self._conn = other._path, other._conn
        return path

    # transactions ----------------------------------------------------------------------------
    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProjectError(f"{self._path}: the project is closed")
        return self._conn

    @contextlib.contextmanager
    def _writing(self, step: str) -> Iterator[sqlite3.Connection]:
        """One step as one transaction: all of it is committed, or none of it."""
        if self.read_only:
            raise ProjectError(f"{self._path}: opened read-only; cannot {step}")
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise self._sqlite_problem(err, step) from None
                if isinstance(err, ProjectError):
                    raise self._named(err) from None
                raise
        log.debug("committed: %s", step)

    @contextlib.contextmanager
    def _reading(self, step: str) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads made of several queries."""
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("BEGIN")
                yield conn
            except sqlite3.Error as err:
                raise self._sqlite_problem(err, step) from None
            except ProjectError as err:
                raise self._named(err) from None
            finally:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")

    def _sqlite_problem(self, err: sqlite3.Error, step: str) -> ProjectError:
        return ProjectError(f"{self._path}: cannot {step} ({err})", hint=opening.sqlite_hint(err))

    def _named(self, err: ProjectError) -> ProjectError:
        """The same error with the project file's name in front (once)."""
        if err.message.startswith(f"{self._path}: "):
            return err
        return ProjectError(f"{self._path}: {err.message}", hint=err.hint)

    # facts about the file --------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The meta table: app, app_version, created, schema_version, migrations."""
        with self._reading("read the file's details") as conn:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    @property
    def schema_version(self) -> int:
        with self._reading("read the schema version") as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # data sets -------------------------------------------------------------------------------
    def add_dataset(
        self, data: ConsumptionData, *, name: str | None = None, state: TaskState | None = None
    ) -> int:
        """Store an imported data set; returns its id. ``name`` defaults to the source name."""
        name = name or str(data.source.get("name") or "data set")
        state = ensure_state(state)
        state.set_status(f"saving {name} to the project")
        with self._writing(f"save data set {name}") as conn:
            dataset_id = datasets.insert_dataset(conn, data, name=name, created=now(), state=state)
        log.info("saved data set %d (%s, %r)", dataset_id, name, data)
        return dataset_id

    def load_dataset(self, dataset_id: int, *, state: TaskState | None = None) -> ConsumptionData:
        """The imported data set ``dataset_id`` exactly as stored."""
        with self._reading(f"read data set {dataset_id}") as conn:
            data, _ = datasets.read_dataset(conn, dataset_id, cleaned=False, state=state)
        return data

    def list_datasets(self) -> list[dict[str, Any]]:
        """Imported data sets: id, name, created, customers, days, first_day, last_day, theft,
        normal, unlabelled, source_name, sha256, bytes (stored size)."""
        with self._reading("list the data sets") as conn:
            return datasets.dataset_rows(conn, cleaned=False)

    def add_cleaned(
        self,
        dataset_id: int,
        recipe_dict: dict,
        report: dict,
        data: ConsumptionData,
        *,
        name: str | None = None,
        state: TaskState | None = None,
    ) -> int:
        """Store a cleaned version of data set ``dataset_id``; returns its id."""
        with self._writing(f"save a cleaned version of data set {dataset_id}") as conn:
            parent = conn.execute(
                "SELECT name FROM datasets WHERE id = ? AND parent_id IS NULL", (int(dataset_id),)
            ).fetchone()
            if parent is None:
                raise ProjectError(f"{self._path}: there is no data set {dataset_id}")
            return datasets.insert_dataset(
                conn,
                data,
                name=name or f"{parent[0]} (cleaned)",
                created=now(),
                parent_id=int(dataset_id),
                recipe=dict(recipe_dict or {}),
                report=dict(report or {}),
                state=state,
            )

    def load_cleaned(
        self, cleaned_id: int, *, state: TaskState | None = None
    ) -> datasets.CleanedVersion:
        """The cleaned version: ``.recipe``, ``.report``, ``.data``, ``.dataset_id``."""
        with self._reading(f"read cleaned version {cleaned_id}") as conn:
            data, row = datasets.read_dataset(conn, cleaned_id, cleaned=True, state=state)
            return datasets.cleaned_version(row, data)

    def list_cleaned(self, dataset_id: int | None = None) -> list[dict[str, Any]]:
        """Cleaned versions (of one data set when given): as list_datasets, plus dataset_id
        and recipe."""
        with self._reading("list the cleaned versions") as conn:
            return datasets.dataset_rows(conn, cleaned=True, parent_id=dataset_id)

    # runs ------------------------------------------------------------------------------------
    def add_run(self, record: dict[str, Any]) -> int:
        """Record a run as it starts; returns its id.

        ``record`` keys read: params, protocol, models, seed, split, dataset_id, device,
        started (ISO time; now when absent). The whole record is kept as JSON too.
        """
        with self._writing("record the run") as conn:
            run_id = runs.insert_run(conn, record, started=now())
        log.info("recorded run %d (%s)", run_id, record.get("models"))
        return run_id

    def add_model_result(
        self,
        run_id: int,
        model_name: str,
        *,
        metrics: dict | None = None,
        history: dict | None = None,
        curves: dict | None = None,
        threshold: float | None = None,
        stopped: bool = False,
        seconds: float | None = None,
        artifact_dir: str | os.PathLike | None = None,
        scores: pd.DataFrame | None = None,
    ) -> None:
        """Store one model's result, its artifact folder's files and its scores, together."""
        with self._writing(f"save model {model_name} of run {run_id}") as conn:
            runs.insert_model_result(
                conn,
                run_id,
                model_name,
                metrics=metrics or {},
                history=history or {},
                curves=curves or {},
                threshold=threshold,
                stopped=stopped,
                seconds=seconds,
                created=now(),
            )
            if artifact_dir is not None:
                runs.insert_artifact_files(conn, run_id, model_name, Path(artifact_dir))
            if scores is not None:
                runs.replace_scores(conn, run_id, model_name, scores)

    def finish_run(
        self,
        run_id: int,
        *,
        stopped: bool = False,
        warnings: Iterable[str] = (),
        ended: str | None = None,
    ) -> None:
        """Mark the run ended (``stopped`` when the user cancelled it)."""
        with self._writing(f"finish run {run_id}") as conn:
            runs.finish(
                conn, run_id, ended=ended or now(), stopped=stopped, warnings=list(warnings)
            )

    def list_runs(self) -> list[dict[str, Any]]:
        """Runs, oldest first: id, dataset_id, protocol, models, seed, split, device, params,
        started, ended, finished, stopped, warnings, results {model: {metrics (without the
        *_curve lists), threshold, stopped, seconds, scores (count)}}."""
        with self._reading("list the runs") as conn:
            return runs.run_rows(conn)

    def run(self, run_id: int) -> dict[str, Any]:
        """One run in full (as list_runs, plus record and per model history, curves, metrics
        with curves, created, artifact_files)."""
        with self._reading(f"read run {run_id}") as conn:
            return runs.run_detail(conn, run_id)

    def extract_artifact(self, run_id: int, model_name: str, target: str | os.PathLike) -> Path:
        """Write the stored artifact files of one model into the folder ``target``."""
        with self._reading(f"read the model of run {run_id}") as conn:
            return runs.extract_artifact_files(conn, run_id, model_name, Path(target))

    def load_artifact(self, run_id: int, model_name: str):
        """The stored model as a :class:`core.artifact.Artifact` (checksums verified, Keras in
        safe mode).

        The files go to a temporary folder (``artifact.directory``), removed when the project
        closes. Any refusal (a tampered file, a layer that would run code) comes back as
        ArtifactError naming this file, run and model.
        """
        from core.artifact import load_artifact

        folder = Path(tempfile.mkdtemp(prefix=f"etd-run{int(run_id)}-"))
        self._extracted.append(folder)
        self.extract_artifact(run_id, model_name, folder)
        what = f"{self._path}: run {run_id} model {model_name}"
        try:
            return load_artifact(folder)
        except EtdError as err:
            raise ArtifactError(f"{what}: {err.message}", hint=err.hint) from None
        except Exception as err:  # a loader bug or an unforeseen refusal: still no traceback
            log.warning("stored model refused: %s: %s", type(err).__name__, err)
            raise ArtifactError(
                f"{what}: the stored model cannot be loaded safely ({_first_line(err)})",
                hint="It may be damaged or contain code; train the model again.",
            ) from None

    def add_scores(self, run_id: int, model_name: str, frame: pd.DataFrame) -> None:
        """Store (replacing any earlier) scores of one model of a run.

        ``frame`` columns: customer, score, rank, percentile, flag, scorable, reason.
        """
        with self._writing(f"save the scores of run {run_id} model {model_name}") as conn:
            runs.replace_scores(conn, run_id, model_name, frame)

    def scores(self, run_id: int, model_name: str) -> pd.DataFrame:
        """Scores by rank, unscorable last; rank is a nullable Int64 column."""
        with self._reading(f"read the scores of run {run_id}") as conn:
            return runs.read_scores(conn, run_id, model_name)

    # inspections -----------------------------------------------------------------------------
    def record_inspection(
        self,
        customer_id: str,
        outcome: str,
        date: dt.date | str | None = None,
        note: str = "",
    ) -> None:
        """Add what an inspection found (outcome in OUTCOMES; date defaults to today)."""
        with self._writing(f"record the inspection of {customer_id}") as conn:
            inspection.insert(conn, customer_id, outcome, date, note, now())

    def inspections(self) -> pd.DataFrame:
        """Current outcome per customer: customer, outcome, inspected_on, note, recorded."""
        with self._reading("read the inspections") as conn:
            return inspection.latest(conn)

    def inspection_history(self, customer_id: str | None = None) -> pd.DataFrame:
        """Every recorded outcome, oldest first."""
        with self._reading("read the inspections") as conn:
            return inspection.history(conn, customer_id)

    def inspection_labels(self, customer_ids: Iterable[str]) -> np.ndarray:
        """int8 per customer from current outcomes: 1 confirmed theft, 0 cleared, -1 other."""
        with self._reading("read the inspections") as conn:
            return inspection.labels_for(conn, list(customer_ids))

    def labels_with_inspections(self, dataset_id: int) -> np.ndarray:
        """The data set's labels with inspection findings laid over them (int8, -1 unknown).

        A confirmed theft or a cleared visit replaces the imported label; other outcomes keep
        it. Use ``data.with_labels(project.labels_with_inspections(id))`` to train on them.
        """
        data = self.load_dataset(dataset_id)
        found = self.inspection_labels(data.customer_ids)
        return np.where(found == -1, data.labels, found).astype(np.int8)

    def export_inspection_list(
        self,
        path: str | os.PathLike,
        run_id: int,
        model_name: str,
        *,
        top: int | None = None,
    ) -> int:
        """CSV of customers by rank (customer, rank, score, percentile, flag, outcome,
        inspected_on, note), the top ``top`` only when given; returns the rows written."""
        with self._reading(f"read the scores of run {run_id}") as conn:
            runs.require_result(conn, run_id, model_name)
            return inspection.write_visit_list(conn, Path(path), run_id, model_name, top)


def _backup_progress(state: TaskState):
    def progress(status, remaining, total):
        state.set_progress(1.0 - remaining / max(1, total))

    return progress


def _check_new_path(path: Path) -> None:
    """Refuse, before SQLite gives a vague "unable to open", a folder or a missing folder."""
    if path.is_dir():
        raise ProjectError(f"{path}: is a folder; choose a file name such as work{SUFFIX}")
    if not path.parent.is_dir():
        raise ProjectError(
            f"{path}: the folder {str(path.parent)!r} does not exist",
            hint="Create the folder first, or choose one that exists.",
        )


def _journal(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__
