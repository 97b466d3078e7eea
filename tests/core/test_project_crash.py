"""A writer killed at any moment leaves the file intact with every step it reported committed.

A child process writes steps in a loop (a data set of 1,500 x 200 readings, a run with a model
result, an inspection) and prints each step's id right after it commits. The parent kills it with
SIGKILL after a random short delay, several times over the same file, then checks the file.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from core.project import Project

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pandas as pd
    from core.dataset import ConsumptionData
    from core.project import Project

    project = Project.open(sys.argv[1])
    days = pd.date_range("2015-01-01", periods=200, freq="D")
    ids = [f"C{i}" for i in range(1500)]
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        tag = float(sys.argv[2]) * 1000 + step
        kwh = np.full((1500, 200), tag, dtype=np.float32)
        dataset_id = project.add_dataset(ConsumptionData(ids, days, kwh), name=str(tag))
        print(f"dataset {dataset_id} {tag}", flush=True)
        run_id = project.add_run({"models": ["mlp"], "dataset_id": dataset_id})
        project.add_model_result(run_id, "mlp", metrics={"roc_auc": tag}, history={"loss": [tag]})
        print(f"run {run_id} {tag}", flush=True)
        project.record_inspection(f"C{step}", "cleared", note=str(tag))
        print(f"inspection {step} {tag}", flush=True)
    """
)

ROUNDS = 6


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killing_the_writer_mid_step_never_loses_a_committed_step(tmp_path):
    path = tmp_path / "case.etdproj"
    Project.create(path).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(5)
    reported: list[tuple[str, int, float]] = []
    killed_mid_step = 0

    for round_number in range(1, ROUNDS + 1):
        child = subprocess.Popen(
            [sys.executable, str(script), str(path), str(round_number)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        lines = [line.split() for line in out.splitlines()]
        reported += [(kind, int(key), float(tag)) for kind, key, tag in lines]
        killed_mid_step += (path.parent / (path.name + "-journal")).exists()

    conn = sqlite3.connect(path)  # SQLite itself rolls back the half-written step
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with Project.open(path) as project:
        stored = {d["id"]: d["name"] for d in project.list_datasets()}
        runs = {r["id"]: r for r in project.list_runs()}
        notes = project.inspection_history()["note"].tolist()
        for kind, key, tag in reported:
            if kind == "dataset":
                assert stored[key] == str(tag)
                assert (project.load_dataset(key).kwh == np.float32(tag)).all()
            elif kind == "run":
                assert runs[key]["results"]["mlp"]["metrics"]["roc_auc"] == tag
            else:
                assert str(tag) in notes
        # what is there beyond the reported steps is whole too (committed, not yet printed)
        for dataset_id in stored:
            assert project.load_dataset(dataset_id).n_customers == 1500

    assert sum(kind == "dataset" for kind, _, _ in reported) >= 2  # the test saw real work
    print(f"{len(reported)} steps reported, {killed_mid_step} kills left a journal behind")
