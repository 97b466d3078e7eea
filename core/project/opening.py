"""The checks a file passes before a project uses it, and the upgrade of older files.

In order: the file exists and starts like an SQLite database; it carries our application id and
a schema version this program can handle; it is not truncated and SQLite's quick check finds its
pages intact; an older version is copied aside and upgraded; its tables hold every column this
version reads. Each refusal is a ProjectError naming the file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from importlib import metadata
from pathlib import Path

from core.errors import ProjectError
from core.project import schema
from core.project.schema import APPLICATION_ID, SCHEMA_VERSION

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000


def app_version() -> str:
    """This program's version, as written into the files it makes."""
    try:
        return metadata.version("etd-workbench")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+source"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def configure(conn: sqlite3.Connection, *, read_only: bool) -> None:
    """Connection settings: see core.project.store for why a rollback journal."""
    conn.execute("PRAGMA foreign_keys = ON")
    # A file from someone else may carry views, triggers or defaults that call SQL functions;
    # untrusted, SQLite refuses to run functions with side effects from them.
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not read_only:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = FULL")


def check_header(path: Path) -> None:
    """Refuse, before SQLite sees it, a missing file or one that is not SQLite at all."""
    if not path.exists():
        raise ProjectError(f"{path}: no such file")
    if path.is_dir():
        raise ProjectError(f"{path}: is a folder, not a project file")
    try:
        with path.open("rb") as handle:
            head = handle.read(100)
    except OSError as err:
        raise ProjectError(f"{path}: cannot read the file ({err.strerror})") from None
    if not head:
        raise ProjectError(f"{path}: the file is empty")
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        raise ProjectError(
            f"{path}: not a project file (it is not an SQLite database)",
            hint="Project files end in .etdproj and are made by this program.",
        )


def check_writable(path: Path) -> None:
    """Refuse to open for editing a file (or folder, where the journal goes) that is read-only
    on disk: SQLite would open it anyway and fail only at the first save."""
    for target, what in ((path, "file"), (path.parent, "folder it is in")):
        if not os.access(target, os.W_OK):
            raise ProjectError(
                f"{path}: the {what} is read-only on disk, so nothing could be saved",
                hint="Open the project read-only, or copy it to a folder you can write to.",
            )


def sqlite_hint(err: sqlite3.Error) -> str:
    """What the user can do about an SQLite error, from its text."""
    text = str(err)
    if _is_busy(err):
        return (
            f"Another program or workbench window is using the file (it stayed locked for "
            f"{BUSY_TIMEOUT_MS // 1000} s); close the project there, or wait for its step to "
            "finish, and try again."
        )
    if "readonly" in text or "read-only" in text:
        return "The file is read-only on disk; copy it to a folder you can write to."
    if "full" in text:
        return "The disk is full; free some space and try again."
    if isinstance(err, sqlite3.IntegrityError):
        return "That content is already stored, or refers to something that is not."
    return "The file may be damaged; open a backup copy, or ask its sender for it again."


def open_failure(path: Path, err: sqlite3.Error, *, hot_journal: bool) -> ProjectError:
    """The error for a file SQLite would not read: in use elsewhere, or not a sound project.

    ``hot_journal``: a read-only open found the journal of an unfinished step beside the file.
    """
    if _is_busy(err):
        return ProjectError(f"{path}: cannot open the project ({err})", hint=sqlite_hint(err))
    hint = sqlite_hint(err)
    if hot_journal:
        hint = "It was left in the middle of a step; open it for editing once to recover."
    return ProjectError(f"{path}: not a project file or damaged ({err})", hint=hint)


def _is_busy(err: sqlite3.Error) -> bool:
    return "locked" in str(err) or "busy" in str(err)


def check_identity(conn: sqlite3.Connection, path: Path, read_only: bool) -> int:
    """The file's schema version, once it is known to be ours and openable this way."""
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if app_id != APPLICATION_ID:
        raise ProjectError(
            f"{path}: an SQLite database, but not a project file of this program",
            hint="Open a file saved by the workbench (.etdproj).",
        )
    if version > SCHEMA_VERSION and not read_only:
        raise ProjectError(
            f"{path}: made by a newer version of the workbench (file schema {version}, this "
            f"version knows up to {SCHEMA_VERSION}); refused for editing so that nothing it "
            "holds is lost",
            hint="Update the workbench, or open the file read-only.",
        )
    if version > SCHEMA_VERSION:
        log.warning("%s has schema %d (newer than %d); read-only", path, version, SCHEMA_VERSION)
    if version < SCHEMA_VERSION and read_only:
        raise ProjectError(
            f"{path}: made by an older version (schema {version}) and needs an upgrade, which "
            "a read-only open cannot do",
            hint="Open it for editing once; a backup copy is kept beside it.",
        )
    if version < 1 or (version < SCHEMA_VERSION and version not in schema.MIGRATIONS):
        raise ProjectError(f"{path}: unknown project schema version {version}")
    return int(version)


def check_no_triggers(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file with triggers: this program makes none, and a trigger from someone else
    would change or delete content behind every save."""
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    if names:
        raise ProjectError(
            f"{path}: holds SQL trigger(s) {', '.join(map(repr, names[:5]))}, which this "
            "program never makes; refused, since they would run on every change",
            hint="Ask its sender for a file saved by the workbench itself.",
        )


def check_intact(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a truncated or internally damaged file (SQLite's quick_check, fast)."""
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    size = path.stat().st_size
    if size < page_size * pages:
        raise ProjectError(
            f"{path}: the file is truncated ({size:,} bytes of {page_size * pages:,})",
            hint="It was probably cut short while copying or downloading; copy it again.",
        )
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        raise ProjectError(
            f"{path}: the file is damaged ({'; '.join(problems)})",
            hint="Open a backup copy, or ask its sender for the file again.",
        )


def backup_name(path: Path, version: int) -> Path:
    """``name.etdproj.bak-v1``, or ``.bak-v1-2`` ... when that exists already."""
    candidate = path.with_name(f"{path.name}.bak-v{version}")
    counter = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak-v{version}-{counter}")
        counter += 1
    return candidate


def upgrade(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Copy the file aside, then bring it to SCHEMA_VERSION in one transaction."""
    backup = backup_name(path, version)
    target = sqlite3.connect(backup)
    try:
        conn.backup(target)
    finally:
        target.close()
    log.info("backed up %s (schema %d) to %s before upgrading", path, version, backup)
    conn.execute("BEGIN IMMEDIATE")
    try:
        passed = schema.migrate(conn, version)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('upgraded', ?)",
            (f"{now()} from schema {version} by {app_version()}; backup {backup.name}",),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.info("upgraded %s through schema version(s) %s", path, passed)
