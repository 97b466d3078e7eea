"""Arrays and JSON in a project file, stored as plain bytes that reading can never execute.

Arrays are ``.npy`` images (the numpy header, then the raw C-order data). Reading one checks the
header against what the row promises (dtype, shape, byte count) before a single data byte is
read, refuses object arrays (their bytes are pickles), and fills a fresh writable array through
SQLite's incremental blob I/O in chunks, so a 175 MB matrix costs 175 MB of memory, not three
copies of it. Everything else is JSON text with a size cap.

Errors come back as :class:`~core.errors.ProjectError` naming the content (``what``); the project
adds the file name.
"""

from __future__ import annotations

import io
import json
import logging
import math
import sqlite3
from typing import Any

import numpy as np

from core.errors import ProjectError
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

# SQLite's own default cap on one value is 1e9 bytes; nothing we store legitimately comes close
# (the full SGCC matrix is 175 MB), so a bigger declared size means a damaged or hostile file.
MAX_ARRAY_BYTES = 1_000_000_000
MAX_JSON_CHARS = 64 * 1024 * 1024
# The largest reference network (the MLP, with optimizer state) is tens of MB.
MAX_ARTIFACT_FILE_BYTES = 512 * 1024 * 1024
MAX_NPY_HEADER = 16 * 1024

CHUNK_BYTES = 16 * 1024 * 1024


# JSON ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """json.dumps fallback: numpy scalars and arrays, paths, dates become plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps_json(value: Any) -> str:
    """JSON text of ``value``; NaN and infinities are kept (metrics can be undefined)."""
    return json.dumps(value, default=_plain, ensure_ascii=False)


def loads_json(
    text: str | bytes | None, what: str, *, expect: type | None = None, limit: int = MAX_JSON_CHARS
) -> Any:
    """The value stored as JSON text; None stays None. ``expect`` (dict, list) is enforced."""
    if text is None:
        return None
    if not isinstance(text, (str, bytes)):
        raise ProjectError(f"{what} is a {type(text).__name__}, not JSON text")
    if len(text) > limit:
        raise ProjectError(f"{what} is {len(text):,} characters long, over the {limit:,} limit")
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProjectError(f"{what} is not valid JSON ({err})") from None
    if expect is not None and value is not None and not isinstance(value, expect):
        raise ProjectError(f"{what} should be a JSON {expect.__name__}, not {type(value).__name__}")
    return value


# npy images ----------------------------------------------------------------------------------
def npy_header(array: np.ndarray) -> bytes:
    """The ``.npy`` header numpy would write for ``array`` (C order)."""
    buffer = io.BytesIO()
    fields = np.lib.format.header_data_from_array_1_0(array)
    try:
        np.lib.format.write_array_header_1_0(buffer, fields)
    except ValueError:  # a header over 64 KiB needs format 2.0
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, fields)
    return buffer.getvalue()


def store_array(
    conn: sqlite3.Connection,
    table: str,
    keys: dict[str, Any],
    array: np.ndarray,
    state: TaskState | None = None,
) -> None:
    """Insert a row of ``table`` whose ``data`` column is the npy image of ``array``.

    ``table`` and the ``keys`` names are the project's own constants, never user input. The
    caller holds the transaction; a cancel between chunks raises and the caller rolls back.
    """
    state = ensure_state(state)
    array = np.ascontiguousarray(array)
    if array.dtype.hasobject:
        raise ProjectError("refusing to store an object array (it could only be read as pickle)")
    header = npy_header(array)
    payload = memoryview(array).cast("B") if array.size else memoryview(b"")
    total = len(header) + len(payload)
    if total > MAX_ARRAY_BYTES:
        raise ProjectError(
            f"an array of {total:,} bytes is over the {MAX_ARRAY_BYTES:,}-byte limit of one value"
        )

    names = ", ".join(keys)
    marks = ", ".join("?" for _ in keys)
    if not hasattr(conn, "blobopen"):  # Python 3.10: one plain insert, with its extra copies
        conn.execute(
            f"INSERT INTO {table} ({names}, data) VALUES ({marks}, ?)",
            (*keys.values(), header + payload.tobytes()),
        )
        return

    cursor = conn.execute(
        f"INSERT INTO {table} ({names}, data) VALUES ({marks}, zeroblob(?))",
        (*keys.values(), total),
    )
    with conn.blobopen(table, "data", cursor.lastrowid) as blob:
        blob.write(header)
        for start in range(0, len(payload), CHUNK_BYTES):
            state.check()
            blob.write(payload[start : start + CHUNK_BYTES])
            state.set_progress((start + CHUNK_BYTES) / max(1, len(payload)))


def _parse_header(head: bytes, what: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    fp = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"npy format version {version} is unknown")
    except (ValueError, SyntaxError, EOFError, TypeError) as err:
        raise ProjectError(f"{what} is not a valid numpy array image ({err})") from None
    return tuple(int(n) for n in shape), bool(fortran), dtype, fp.tell()


def read_array(
    conn: sqlite3.Connection,
    table: str,
    where: dict[str, Any],
    *,
    dtype: np.dtype | type | str,
    shape: tuple[int, ...],
    what: str,
    state: TaskState | None = None,
) -> np.ndarray:
    """The array stored in the ``data`` column of the one row matching ``where``.

    Refused (ProjectError) unless the stored header says exactly ``dtype`` and ``shape`` in C
    order and the byte count matches: the row's own customer and day counts are the truth, and
    a blob claiming anything else is damaged or forged.
    """
    state = ensure_state(state)
    dtype = np.dtype(dtype)
    condition = " AND ".join(f"{name} = ?" for name in where)
    row = conn.execute(
        f"SELECT rowid, length(data) FROM {table} WHERE {condition}", tuple(where.values())
    ).fetchone()
    if row is None:
        raise ProjectError(f"{what} is missing")
    rowid, size = row
    expected = math.prod(shape) * dtype.itemsize
    if size is None or size > MAX_ARRAY_BYTES or size > expected + MAX_NPY_HEADER:
        raise ProjectError(
            f"{what} is {size or 0:,} bytes, more than the {expected:,} bytes of a "
            f"{' x '.join(map(str, shape))} {dtype.name} array it should hold"
        )

    if not hasattr(conn, "blobopen"):
        (data,) = conn.execute(f"SELECT data FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        *_, offset = _check_header(bytes(data[:MAX_NPY_HEADER]), size, dtype, shape, what)
        return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).copy()

    with conn.blobopen(table, "data", rowid, readonly=True) as blob:
        head = blob.read(min(size, MAX_NPY_HEADER))
        *_, offset = _check_header(head, size, dtype, shape, what)
        out = np.empty(shape, dtype=dtype)
        target = memoryview(out).cast("B") if out.size else memoryview(bytearray())
        blob.seek(offset)
        for start in range(0, len(target), CHUNK_BYTES):
            state.check()
            chunk = blob.read(CHUNK_BYTES)
            target[start : start + len(chunk)] = chunk
            state.set_progress((start + CHUNK_BYTES) / max(1, len(target)))
    return out


def _check_header(head: bytes, size: int, dtype: np.dtype, shape: tuple[int, ...], what: str):
    got_shape, fortran, got_dtype, offset = _parse_header(head, what)
    if got_dtype.hasobject:
        raise ProjectError(
            f"{what} holds Python objects; refused, since reading them would mean unpickling "
            "(running code from the file)"
        )
    if got_dtype != dtype:
        raise ProjectError(f"{what} is stored as {got_dtype.str}, expected {dtype.str}")
    if fortran:
        raise ProjectError(f"{what} is stored in Fortran order, expected C order")
    if got_shape != tuple(shape):
        raise ProjectError(
            f"{what} claims shape {got_shape}, but its record says {tuple(shape)} "
            "(customers x days)"
        )
    if size != offset + math.prod(shape) * dtype.itemsize:
        raise ProjectError(
            f"{what} has {size - offset:,} data bytes, expected "
            f"{math.prod(shape) * dtype.itemsize:,}"
        )
    return got_shape, got_dtype, offset
