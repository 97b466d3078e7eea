"""Writing a data set back out as a wide CSV in the SGCC layout (or with ISO day headers).

The canonical layout is ``CONS_NO``, ``FLAG``, then one column per day named ``2014/1/1`` and
sorted as strings (``2014/1/1``, ``2014/1/10``, ...), as in the published SGCC file, so that
tools written for that file read ours. ``header_style="iso"`` writes ``2014-01-01`` headers in
date order instead. Unknown labels and missing readings are empty cells. Readings are written
by Arrow's CSV writer, in the shortest text that reads back to the same float32 value (and
several times faster than pandas' ``to_csv`` at this width). The file appears under its name
only once complete: a cancelled or failed write leaves no half-written table behind.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from core.dataset import UNKNOWN, ConsumptionData
from core.errors import DataFileError
from core.io.dates import sgcc_header
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

HEADER_STYLES = ("sgcc", "iso")
_ROWS_PER_CHUNK = 2000


def write_wide_csv(
    data: ConsumptionData,
    path,
    *,
    header_style: str = "sgcc",
    state: TaskState | None = None,
) -> Path:
    """Write ``data`` to ``path`` as a wide CSV; returns the path."""
    if header_style not in HEADER_STYLES:
        raise ValueError(f"header_style must be one of {HEADER_STYLES}, not {header_style!r}")
    state = ensure_state(state)
    path = Path(path)
    if header_style == "sgcc":
        names = np.array([sgcc_header(d) for d in data.days])
        order = np.argsort(names, kind="stable")
    else:
        names = np.array([d.date().isoformat() for d in data.days])
        order = np.arange(len(names))

    ids = [str(c) for c in data.customer_ids]
    # Plain ids are written unquoted, as in the SGCC file; odd ones get quotes where needed.
    plain = not any(ch in c for c in ids for ch in ',"\r\n')
    options = pacsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
    known = data.labels != UNKNOWN
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "wb") as handle:
            handle.write((",".join(["CONS_NO", "FLAG", *names[order]]) + "\n").encode("utf-8"))
            for start in range(0, data.n_customers, _ROWS_PER_CHUNK):
                state.check()
                stop = min(start + _ROWS_PER_CHUNK, data.n_customers)
                block = np.asfortranarray(data.kwh[start:stop][:, order])
                columns = [
                    pa.array(ids[start:stop], type=pa.string()),
                    pa.array(data.labels[start:stop], mask=~known[start:stop]),
                ]
                columns += [pa.array(block[:, j], from_pandas=True) for j in range(block.shape[1])]
                table = pa.table(columns, names=["CONS_NO", "FLAG", *names[order]])
                pacsv.write_csv(table, handle, options)
                state.set_progress(stop / data.n_customers)
        os.replace(partial, path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DataFileError(
            path,
            f"the file cannot be written ({err.strerror or err}).",
            hint="Choose a file name in a folder that exists and that you may write to.",
        ) from err
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    log.info("wrote %s: %d customers x %d days (%s headers)", path, *data.kwh.shape, header_style)
    return path
