"""The experiment protocol: which customers train, which choose, which judge.

:func:`run_experiment` runs one experiment on a labelled data set and returns an
:class:`ExperimentResult`. Two protocols:

``"honest"`` (the default)
    1. Customers are split first, stratified by label: 64% train, 16% validation, 20% test
       (two ``train_test_split`` calls with ``stratify``). The strata are label x "passes the
       missing-data filter" (a per-customer verdict that learns nothing), so each part gets its
       share of scorable thieves even on small data; with fewer than
       :data:`MIN_PER_STRATUM` customers in a stratum, the label alone.
    2. The preparation recipe is fitted on the training customers only (imputation donors,
       outlier fences, scaler) and applied to validation and test with that fitted state. Its
       missing-data filter judges each customer on its own readings, so it drops customers from
       each part independently; dropped test customers are reported as *not scorable* and
       counted in ``not_scorable``, never silently left out of the story.
    3. The oversampler sees the training customers only; validation and test hold real
       customers only.
    4. Each model trains on the training part; early stopping watches validation; the flagging
       threshold is chosen on validation (best F1 by default); the test part is scored once.

``"paper"`` (reproduce the 2021 study)
    The study's order: the recipe is fitted on all customers, everybody is oversampled, then
    the rows (real and synthetic) are split 64/16/20. Synthetic thieves made from test thieves
    sit in training, synthetic thieves sit in validation and test, so every figure is inflated.
    The result says so everywhere: ``leaking=True``, a warning, the comparison title, and a
    ``protocol`` and ``leaking`` field in every file of the run folder (each model's entry of
    ``metrics.json``, ``histories.json`` and ``curves.json``, the top of ``split.json`` and
    ``run.json``, a column of each ``test_scores_<model>.csv``). Each test row records whether
    it is synthetic.

A model that refuses the data (:class:`~core.errors.TrainingError`, e.g. a series too short for
it) is recorded as skipped with its message and the others go on. Too few thieves or normal
customers is refused before anything trains.

The package, one step per module:

- :mod:`.checks`: settings and labels refused before anything is prepared;
- :mod:`.split`: the stratified split of customers (or rows) into three parts;
- :mod:`.parts`: the two protocols' preparation and oversampling, ending in the arrays models see;
- :mod:`.experiment`: :func:`run_experiment` and the loop over the models;
- :mod:`.results`: :class:`ModelOutcome` and :class:`ExperimentResult`;
- :mod:`.outputs`: the run folder written from a result;
- :mod:`.folds`: k-fold cross-validation, :func:`run_folds`.
"""

from core.protocol.checks import MIN_PER_CLASS, check_run_lengths, checked_models
from core.protocol.experiment import FEW_TEST_THIEVES, run_experiment
from core.protocol.folds import FOLD_METRICS, FoldsResult, run_folds
from core.protocol.results import (
    ENDED_BY_USER,
    HONEST_LABEL,
    METRIC_KEYS,
    NOT_RUN_STOPPED,
    PAPER_LABEL,
    PAPER_WARNING,
    PROTOCOLS,
    STOP_REASONS,
    STOPPED,
    ExperimentResult,
    ModelOutcome,
)
from core.protocol.split import MIN_PER_STRATUM

__all__ = [
    "ENDED_BY_USER",
    "FEW_TEST_THIEVES",
    "FOLD_METRICS",
    "HONEST_LABEL",
    "METRIC_KEYS",
    "MIN_PER_CLASS",
    "MIN_PER_STRATUM",
    "NOT_RUN_STOPPED",
    "PAPER_LABEL",
    "PAPER_WARNING",
    "PROTOCOLS",
    "STOPPED",
    "STOP_REASONS",
    "ExperimentResult",
    "FoldsResult",
    "ModelOutcome",
    "check_run_lengths",
    "checked_models",
    "run_experiment",
    "run_folds",
]
