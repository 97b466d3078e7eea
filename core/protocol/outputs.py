"""The run folder of an experiment: JSON figures, the comparison table, test scores and one
artifact per trained model, each labelled with the protocol that produced it.

The functions take an :class:`~core.protocol.results.ExperimentResult` and read only its
public methods, so this module does not import the results module (which calls into it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.protocol.results import ExperimentResult

log = logging.getLogger(__name__)


def write_run_folder(result: ExperimentResult, out_dir: str | Path) -> Path:
    """Write ``result`` into ``out_dir`` (created if needed) and remember it as its folder.

    Files: metrics.json, histories.json, curves.json, run.json, split.json, comparison.txt,
    test_scores_<model>.csv per evaluated model, and artifacts/<model>/ for each of those whose
    artifact was not saved yet.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "metrics.json", result.to_metrics_json())
    per_file = {
        "histories.json": result.histories(),
        "curves.json": result.curves(),
    }
    for file_name, per_model in per_file.items():
        entries = {name: result.labelled(entry) for name, entry in per_model.items()}
        write_json(out / file_name, entries)
    write_json(out / "run.json", result.run_record())
    write_json(out / "split.json", result.labelled(result.split))
    (out / "comparison.txt").write_text(result.comparison_table() + "\n", encoding="utf-8")
    for name, outcome in result.outcomes.items():
        if outcome.ok:
            frame = outcome.test_frame().assign(protocol=result.protocol_label)
            frame.to_csv(out / f"test_scores_{name}.csv", index=False)
            if outcome.artifact_dir is None:
                outcome.artifact_dir = result.save_model(name, out)
    result.out_dir = out
    log.info("experiment written to %s", out)
    return out


def save_model_artifact(result: ExperimentResult, name: str, out_dir: Path) -> Path:
    """The artifact of model ``name`` (model, fitted recipe, threshold, labelled figures,
    calendar) under ``out_dir/artifacts/<name>/``."""
    from core.artifact import save_artifact

    outcome = result.outcomes[name]
    return save_artifact(
        Path(out_dir) / "artifacts" / name,
        outcome.trained,
        result.fitted_recipe,
        threshold=outcome.threshold,
        metrics=result.labelled(outcome.summary()),
        calendar=result.calendar,
    )


def write_json(path: Path, value) -> None:
    """``value`` as indented JSON; NaN is refused (the figures carry None for undefined)."""
    path.write_text(json.dumps(value, indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
