"""The experiment protocol: honest splits, the leaking paper order, skips and refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.dataset import ConsumptionData
from core.demo import make_demo
from core.errors import TrainingError
from core.protocol import PAPER_LABEL, run_experiment

QUICK_GBM = {"gbm": {"max_iter": 30}}


@pytest.fixture(scope="module")
def small():
    """300 complete demo customers x 60 days (few gaps, so the 3% filter keeps most)."""
    return make_demo(n_customers=300, n_days=60, missing_rate=0.0, zero_rate=0.0, seed=3)


def _with_gappy_customers(data: ConsumptionData, every: int = 10) -> ConsumptionData:
    kwh = data.kwh.copy()
    kwh[::every, : data.n_days // 2] = np.nan  # half the days empty: far above 3% missing
    return data.with_kwh(kwh)


def test_honest_protocol_keeps_test_customers_real_and_apart_from_training(small):
    result = run_experiment(small, models=("gbm",), model_params=QUICK_GBM, seed=1)
    outcome = result.outcomes["gbm"]

    assert not result.leaking
    assert outcome.test_synthetic.sum() == 0
    train, val, test = (set(result.split[p]) for p in ("train", "validation", "test"))
    assert not (train & test) and not (train & val) and not (val & test)
    assert len(train) + len(val) + len(test) == small.n_customers
    assert len(test) == 60  # 20% of 300
    assert set(outcome.test_customers) <= test
    assert result.balance_report["synthetic_in_training"] > 0
    # the thieves were grown in training only; the test set keeps the data set's base rate
    assert outcome.metrics["base_rate"] == pytest.approx(small.theft_count / 300, abs=0.04)
    assert 0.0 <= outcome.threshold <= 1.0
    assert "F1" in outcome.threshold_how


def test_paper_protocol_puts_synthetic_rows_in_its_test_set_and_says_it_leaks(small, tmp_path):
    result = run_experiment(
        small, models=("gbm",), model_params=QUICK_GBM, protocol="paper", out_dir=tmp_path
    )
    outcome = result.outcomes["gbm"]

    assert result.leaking
    assert outcome.test_synthetic.sum() > 10
    assert any(str(c).startswith("synthetic-") for c in outcome.test_customers)
    assert outcome.metrics["base_rate"] == pytest.approx(0.5, abs=0.02)  # balanced test set
    assert any("leak" in w for w in result.warnings)
    assert "LEAKING" in result.comparison_table().splitlines()[0]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["gbm"]["protocol"] == PAPER_LABEL
    assert metrics["gbm"]["leaking"] is True
    assert metrics["gbm"]["synthetic_test_rows"] == int(outcome.test_synthetic.sum())
    assert "LEAKING" in (tmp_path / "comparison.txt").read_text()
    # every other file of the run folder says so too
    for name in ("histories.json", "curves.json"):
        entry = json.loads((tmp_path / name).read_text())["gbm"]
        assert entry["leaking"] is True and entry["protocol"] == PAPER_LABEL, name
    for name in ("split.json", "run.json"):
        assert json.loads((tmp_path / name).read_text())["leaking"] is True, name
    scores = pd.read_csv(tmp_path / "test_scores_gbm.csv")
    assert (scores["protocol"] == PAPER_LABEL).all()
    assert scores["synthetic"].sum() == int(outcome.test_synthetic.sum())
    manifest = json.loads((tmp_path / "artifacts" / "gbm" / "manifest.json").read_text())
    assert manifest["metrics"]["leaking"] is True

    from core.artifact import load_artifact
    from core.scoring import score

    frame = score(load_artifact(tmp_path / "artifacts" / "gbm"), small.subset(np.arange(20)))
    assert any("paper protocol" in note for note in frame.attrs["notes"])


def test_the_threshold_is_the_best_f1_on_validation_customers_not_on_test(small, tmp_path):
    from core.evaluation import choose_threshold

    result = run_experiment(small, models=("gbm",), model_params=QUICK_GBM, out_dir=tmp_path)
    outcome = result.outcomes["gbm"]

    def scores_of(part):
        rows = np.isin(small.customer_ids, result.split[part])
        prepared = result.fitted_recipe.transform(small.subset(rows))
        return prepared.data.labels, outcome.trained.predict(prepared.X)

    on_validation = choose_threshold(*scores_of("validation"), "f1")[0]
    on_test = choose_threshold(*scores_of("test"), "f1")[0]
    assert outcome.threshold == pytest.approx(on_validation)
    assert on_test != pytest.approx(on_validation)  # so the check above can tell them apart
    assert json.loads((tmp_path / "metrics.json").read_text())["gbm"]["threshold"] == (
        pytest.approx(on_validation)
    )
    written = json.loads((tmp_path / "split.json").read_text())
    train, val, test = (set(written[p]) for p in ("train", "validation", "test"))
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(small.customer_ids)
    scores = pd.read_csv(tmp_path / "test_scores_gbm.csv")
    assert not scores["synthetic"].any() and set(scores["customer"]) <= test


def test_bad_settings_are_refused_before_any_preparation(small, monkeypatch):
    import core.recipe

    def no_preparation(*args, **kwargs):
        raise AssertionError("the recipe was fitted before the settings were checked")

    monkeypatch.setattr(core.recipe.Recipe, "fit_transform", no_preparation)
    for settings, message in (
        ({"epochs": 0}, "Epochs must be a whole number of at least 1"),
        ({"epochs": -1}, "got -1"),
        ({"patience": 0}, "Patience"),
        ({"seed": -1}, "Seed"),
        ({"models": ("gbm", "mpl")}, "Unknown model: mpl"),
        ({"models": ()}, "No model chosen"),
    ):
        with pytest.raises(TrainingError, match=message):
            run_experiment(small, **{"models": ("gbm",), **settings})
    monkeypatch.undo()

    result = run_experiment(small, models=("gbm", "gbm"), model_params=QUICK_GBM)
    assert list(result.outcomes) == ["gbm"]


def test_unlabelled_data_is_refused_with_advice():
    data = make_demo(n_customers=60, n_days=20, missing_rate=0.0, seed=1)
    unlabelled = data.with_labels(np.full(60, -1, dtype=np.int8))
    with pytest.raises(TrainingError, match="None of the 60 customers has a label"):
        run_experiment(unlabelled, models=("gbm",))


def test_dropped_test_customers_are_reported_not_scorable(small):
    data = _with_gappy_customers(small)
    result = run_experiment(data, models=("gbm",), model_params=QUICK_GBM)
    dropped = result.not_scorable["test"]
    outcome = result.outcomes["gbm"]

    assert len(dropped) > 0
    assert set(dropped) <= set(result.split["test"])
    assert len(outcome.test_customers) + len(dropped) == len(result.split["test"])
    assert result.to_metrics_json()["gbm"]["n_test_not_scorable"] == len(dropped)
    assert any("not scorable" in w for w in result.warnings)
    assert f"{60 - len(dropped)} of 60 test customers scorable" in result.comparison_title()


def test_a_model_that_refuses_is_skipped_and_the_others_go_on():
    data = make_demo(n_customers=200, n_days=10, missing_rate=0.0, zero_rate=0.0, seed=4)
    done = []
    result = run_experiment(
        data, models=("cnn_lstm", "gbm"), model_params=QUICK_GBM, on_model_done=done.append
    )

    assert [o.name for o in done] == ["cnn_lstm", "gbm"]
    assert "too short" in result.outcomes["cnn_lstm"].skipped
    assert result.outcomes["gbm"].ok
    table = result.comparison_table()
    assert "skipped" in table and "gbm" in table
    assert result.to_metrics_json()["cnn_lstm"]["skipped"]


def test_too_few_thieves_is_refused_before_anything_trains():
    data = make_demo(n_customers=60, n_days=30, theft_fraction=0.1, missing_rate=0.0, seed=1)
    with pytest.raises(TrainingError, match="6 thieves"):
        run_experiment(data, models=("gbm",))
    one_class = data.with_labels(np.zeros(data.n_customers, dtype=np.int8))
    with pytest.raises(TrainingError, match="0 thieves"):
        run_experiment(one_class, models=("gbm",))


def test_run_folder_holds_metrics_histories_curves_table_and_artifacts(small, tmp_path):
    result = run_experiment(small, models=("gbm",), model_params=QUICK_GBM, out_dir=tmp_path)

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in (
        "accuracy", "loss", "precision", "recall", "f1", "kappa", "roc_auc", "pr_auc",
        "map_at_100", "map_at_200", "base_rate",
    ):  # fmt: skip
        assert key in metrics["gbm"], key
    assert metrics["gbm"]["roc_auc"] == pytest.approx(result.outcomes["gbm"].metrics["roc_auc"])
    assert json.loads((tmp_path / "histories.json").read_text())["gbm"]["loss"]
    curves = json.loads((tmp_path / "curves.json").read_text())
    assert curves["gbm"]["roc"]["fpr"][0] == 0.0
    assert "ROC-AUC" in (tmp_path / "comparison.txt").read_text()
    assert (tmp_path / "artifacts" / "gbm" / "manifest.json").is_file()
    assert result.outcomes["gbm"].artifact_dir == tmp_path / "artifacts" / "gbm"


def test_unknown_protocol_and_bad_split_are_refused(small):
    with pytest.raises(TrainingError, match="protocol"):
        run_experiment(small, models=("gbm",), protocol="magic")
    with pytest.raises(TrainingError, match="adding up to 1"):
        run_experiment(small, models=("gbm",), split=(0.5, 0.2, 0.2))


def test_gradient_boosting_and_mlp_beat_a_coin_on_real_26_day_customers(sgcc_25863):
    """Measured with seed 0 (reference recipe, honest split, 2,052 of 5,173 test customers
    scorable, base rate 0.106): GBM ROC-AUC 0.604 (95% CI 0.564-0.642), MLP 0.567
    (0.523-0.611). Other seeds gave GBM 0.58-0.65 and MLP 0.53-0.63: 26 days say little, and
    the per-day min-max scaling squashes most customers near 0 (median input 0.002)."""
    from core.io import read_dataset

    data = read_dataset(sgcc_25863)
    result = run_experiment(
        data,
        models=("gbm", "mlp"),
        model_params={"mlp": {"jit_compile": False}},
        epochs=15,
        patience=5,
        seed=0,
    )
    gbm, mlp = result.outcomes["gbm"].metrics, result.outcomes["mlp"].metrics
    assert gbm["roc_auc"] > 0.57 and gbm["roc_auc_ci"][0] > 0.52, gbm["roc_auc_ci"]
    assert mlp["roc_auc"] > 0.53, mlp["roc_auc"]
    for metrics in (gbm, mlp):
        assert metrics["pr_auc"] > 1.3 * metrics["base_rate"]
        assert metrics["n"] + len(result.not_scorable["test"]) == len(result.split["test"])


def test_sequence_models_adapt_to_a_26_day_series_and_say_so(sgcc_25863):
    from core.io import read_dataset

    data = read_dataset(sgcc_25863)
    data = data.subset(np.arange(3000))
    quick = {name: {"jit_compile": False} for name in ("cnn_lstm", "conv_lstm")}
    result = run_experiment(
        data, models=("cnn_lstm", "conv_lstm"), model_params=quick, epochs=1, patience=1
    )
    for name in ("cnn_lstm", "conv_lstm"):
        outcome = result.outcomes[name]
        if outcome.skipped:  # refusing is allowed, with a message naming the day count
            assert "26" in outcome.skipped
        else:
            assert outcome.notes and "26 days" in outcome.notes[0], outcome.notes
            assert 0.0 <= outcome.metrics["roc_auc"] <= 1.0


def test_k_fold_cross_validation_tests_every_customer_once_and_reports_mean_and_sd(small):
    from core.protocol import run_folds

    result = run_folds(small, folds=3, models=("gbm",), model_params=QUICK_GBM)

    tests = [set(fold.split["test"]) for fold in result.folds]
    assert sum(len(t) for t in tests) == small.n_customers
    assert set().union(*tests) == set(small.customer_ids)
    for fold in result.folds:
        assert not set(fold.split["train"]) & set(fold.split["test"])
    summary = result.summary()["gbm"]
    values = summary["roc_auc"]["values"]
    assert summary["folds_done"] == 3 and len(values) == 3
    assert summary["roc_auc"]["mean"] == pytest.approx(np.mean(values))
    assert summary["roc_auc"]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert "±" in result.table()


def test_an_engine_failure_in_a_later_model_keeps_the_finished_ones_on_disk(
    small, tmp_path, monkeypatch
):
    import core.training

    real_train = core.training.train_model

    def mlp_breaks(name, *args, **kwargs):
        if name == "mlp":
            raise RuntimeError("simulated engine bug")
        return real_train(name, *args, **kwargs)

    monkeypatch.setattr(core.training, "train_model", mlp_breaks)
    with pytest.raises(RuntimeError, match="simulated"):
        run_experiment(small, models=("gbm", "mlp"), model_params=QUICK_GBM, out_dir=tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert list(metrics) == ["gbm"] and metrics["gbm"]["roc_auc"] is not None
    assert (tmp_path / "artifacts" / "gbm" / "manifest.json").is_file()
    assert any(
        "ended early" in w for w in json.loads((tmp_path / "run.json").read_text())["warnings"]
    )


def test_skip_ends_only_the_model_now_training_and_the_run_goes_on(small):
    import threading

    skip = threading.Event()
    skip.set()  # asked before the first model starts: it ends at its first check
    params = {**QUICK_GBM, "mlp": {"jit_compile": False}}
    result = run_experiment(
        small, models=("gbm", "mlp"), model_params=params, epochs=1, patience=1, skip=skip
    )

    first, second = result.outcomes["gbm"], result.outcomes["mlp"]
    assert first.stopped or first.skipped, (first.stopped, first.skipped)
    assert any("went on" in note for note in first.notes) or "went on" in str(first.skipped)
    assert not skip.is_set()
    assert second.ok and not second.stopped
    assert second.metrics["roc_auc"] is not None
