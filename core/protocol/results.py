"""What an experiment gives: one :class:`ModelOutcome` per model inside an
:class:`ExperimentResult`, and the words every report uses for the two protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation import comparison_table
from core.protocol.outputs import save_model_artifact, write_run_folder

PROTOCOLS = ("honest", "paper")
PAPER_LABEL = "paper (leaking: oversampled before the split; synthetic rows in validation and test)"
HONEST_LABEL = "honest (split first; recipe and oversampler fitted on training customers only)"
PAPER_WARNING = (
    "Paper protocol: the data were oversampled before the split, so synthetic thieves made from "
    "test thieves are in the training set and synthetic thieves are in validation and test. "
    "These figures leak and are inflated; compare them with the honest protocol."
)
STOPPED = "stopped by the user"
NOT_RUN_STOPPED = "not run: stopped by the user"
ENDED_BY_USER = "ended by the user before it could be evaluated; the run went on"
STOP_REASONS = (STOPPED, NOT_RUN_STOPPED)

# metrics.json keys per model, in this order (figures the GUI and the reports read)
METRIC_KEYS = (
    "accuracy", "loss", "precision", "recall", "f1", "kappa", "roc_auc", "pr_auc",
    "pr_auc_trapezoid", "pr_auc_definition", "map_at_100", "map_at_200", "base_rate",
    "roc_auc_ci", "pr_auc_ci", "precision_at_k", "recall_at_k", "k_used", "confusion",
    "threshold", "flagged", "n", "n_theft", "n_normal", "undefined",
)  # fmt: skip


@dataclass
class ModelOutcome:
    """What one model gave: the trained model, its test figures and its test scores."""

    name: str
    trained: Any = None  # core.training.TrainedModel
    metrics: dict | None = None  # evaluate() on the test part
    val_metrics: dict | None = None  # evaluate() on the validation part (no bootstrap)
    threshold: float | None = None
    threshold_how: str = ""
    history: dict = field(default_factory=dict)
    best_epoch: int | None = None
    stopped: bool = False
    device: str = ""
    seconds: float = 0.0
    test_customers: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    test_labels: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int8))
    test_scores: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float32))
    test_synthetic: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    artifact_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.metrics is not None

    def test_frame(self) -> pd.DataFrame:
        """Test customers with their label, theft score and whether the row is synthetic."""
        return pd.DataFrame(
            {
                "customer": self.test_customers,
                "label": self.test_labels.astype(int),
                "score": self.test_scores.astype(float),
                "synthetic": self.test_synthetic.astype(bool),
            }
        )

    def summary(self) -> dict:
        """JSON-ready figures of this model for metrics.json."""
        if not self.ok:
            return {"skipped": self.skipped or "no result"}
        out = {key: self.metrics.get(key) for key in METRIC_KEYS}
        out.update(
            threshold_how=self.threshold_how,
            val_f1=(self.val_metrics or {}).get("f1"),
            val_roc_auc=(self.val_metrics or {}).get("roc_auc"),
            best_epoch=self.best_epoch,
            epochs_run=len(self.history.get("loss", [])),
            stopped=self.stopped,
            device=self.device,
            seconds=round(float(self.seconds), 3),
            synthetic_test_rows=int(self.test_synthetic.sum()),
            notes=list(self.notes),
        )
        return out


@dataclass
class ExperimentResult:
    """Everything one experiment produced; :meth:`write` puts it in a run folder."""

    protocol: str
    outcomes: dict[str, ModelOutcome]
    fitted_recipe: Any  # core.recipe.FittedRecipe
    split: dict[str, list[str]]  # real customer ids per part
    not_scorable: dict[str, dict[str, str]]  # part -> customer id -> reason
    warnings: list[str]
    data_summary: dict
    recipe_report: dict
    balance_report: dict
    settings: dict
    calendar: dict  # {"first_day": ISO date, "n_days": int}
    out_dir: Path | None = None

    @property
    def leaking(self) -> bool:
        return self.protocol == "paper"

    @property
    def protocol_label(self) -> str:
        return PAPER_LABEL if self.leaking else HONEST_LABEL

    @property
    def stopped_by_user(self) -> bool:
        """True when a stop was asked: a model ended early or was never started."""
        return any(o.stopped or o.skipped in STOP_REASONS for o in self.outcomes.values())

    def labelled(self, entry: dict) -> dict:
        """``entry`` with this run's ``protocol`` and ``leaking`` fields added."""
        return {**entry, "protocol": self.protocol_label, "leaking": self.leaking}

    def to_metrics_json(self) -> dict[str, dict]:
        """{model: {accuracy, loss, precision, recall, f1, kappa, roc_auc, pr_auc, ...}}.

        Each entry also carries ``protocol`` and ``leaking``; a skipped model has
        ``{"skipped": reason, ...}``.
        """
        dropped = len(self.not_scorable.get("test", {}))
        return {
            name: {**self.labelled(outcome.summary()), "n_test_not_scorable": dropped}
            for name, outcome in self.outcomes.items()
        }

    def comparison_title(self) -> str:
        n_test = len(self.split.get("test", []))
        title = f"Test results, {self.protocol_label}"
        if self.leaking:
            return f"{title}: LEAKING, figures inflated"
        dropped = len(self.not_scorable.get("test", {}))
        return f"{title}; {n_test - dropped:,} of {n_test:,} test customers scorable"

    def comparison_table(self) -> str:
        results = {
            name: (o.metrics if o.ok else (o.skipped or "no result"))
            for name, o in self.outcomes.items()
        }
        return comparison_table(results, title=self.comparison_title())

    def histories(self) -> dict[str, dict]:
        """{model: history}; the history dicts themselves, as training returned them."""
        return {name: o.history for name, o in self.outcomes.items() if o.ok}

    def curves(self) -> dict[str, dict]:
        return {
            name: {"roc": o.metrics.get("roc_curve"), "pr": o.metrics.get("pr_curve")}
            for name, o in self.outcomes.items()
            if o.ok
        }

    def run_record(self) -> dict:
        """The run as a whole (settings, split sizes, warnings) for run.json and projects."""
        return self.labelled(
            {
                "warnings": list(self.warnings),
                "settings": self.settings,
                "calendar": self.calendar,
                "data": self.data_summary,
                "split_sizes": {part: len(ids) for part, ids in self.split.items()},
                "not_scorable": self.not_scorable,
                "recipe_report": self.recipe_report,
                "balance_report": self.balance_report,
                "models": {
                    name: ("skipped: " + o.skipped) if o.skipped else "ok"
                    for name, o in self.outcomes.items()
                },
            }
        )

    def write(self, out_dir: str | Path) -> Path:
        """metrics.json, histories.json, curves.json, comparison.txt, run.json, split.json,
        test_scores_<model>.csv, and one artifact per trained model under artifacts/<model>/.

        Every JSON entry and CSV row carries the protocol label (see :mod:`core.protocol`)."""
        return write_run_folder(self, out_dir)

    def save_model(self, name: str, out_dir: Path) -> Path:
        """The artifact of model ``name`` under ``out_dir/artifacts/<name>/``."""
        return save_model_artifact(self, name, out_dir)
