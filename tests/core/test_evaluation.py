"""Test metrics: the same figures as scikit-learn, ranking metrics checked by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from core.errors import TrainingError
from core.evaluation import (
    choose_threshold,
    comparison_frame,
    comparison_table,
    evaluate,
    theft_average_precision_at_k,
    weighted_average_precision,
    weighted_roc_auc,
)


@pytest.fixture
def example():
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.15).astype(int)
    scores = np.clip(rng.normal(0.35 + 0.25 * y, 0.18), 0.0, 1.0).round(2)  # ties on purpose
    return y, scores


def test_metrics_match_scikit_learn_on_a_fixed_example(example):
    y, s = example
    m = evaluate(y, s, threshold=0.45, n_boot=200)
    flags = (s >= 0.45).astype(int)

    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, flags))
    assert m["loss"] == pytest.approx(skm.log_loss(y, s, labels=[0, 1]))
    assert m["precision"] == pytest.approx(skm.precision_score(y, flags))
    assert m["recall"] == pytest.approx(skm.recall_score(y, flags))
    assert m["f1"] == pytest.approx(skm.f1_score(y, flags))
    assert m["kappa"] == pytest.approx(skm.cohen_kappa_score(y, flags))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, s))
    precision, recall, _ = skm.precision_recall_curve(y, s)
    assert m["pr_auc_trapezoid"] == pytest.approx(skm.auc(recall, precision))
    assert m["confusion"] == skm.confusion_matrix(y, flags).tolist()
    assert m["base_rate"] == pytest.approx(y.mean())
    assert m["threshold"] == 0.45


def test_bootstrap_interval_brackets_the_figure_and_is_reproducible(example):
    y, s = example
    a = evaluate(y, s, n_boot=300, seed=3)
    b = evaluate(y, s, n_boot=300, seed=3)
    assert a["roc_auc_ci"] == b["roc_auc_ci"]
    low, high = a["roc_auc_ci"]
    assert low < a["roc_auc"] < high
    assert 0.02 < high - low < 0.3
    low, high = a["pr_auc_ci"]
    assert low < a["pr_auc"] < high


def test_weighted_bootstrap_statistics_equal_scikit_learn_on_the_repeated_rows(example):
    y, s = example
    weights = np.random.default_rng(0).integers(0, 4, size=(3, len(y)))
    roc = weighted_roc_auc(y, s, weights)
    ap = weighted_average_precision(y, s, weights)
    for i in range(3):
        yy, ss = np.repeat(y, weights[i]), np.repeat(s, weights[i])
        assert roc[i] == pytest.approx(skm.roc_auc_score(yy, ss))
        assert ap[i] == pytest.approx(skm.average_precision_score(yy, ss))


def test_map_at_k_on_a_hand_computed_ranking():
    # ranks:      1  2  3  4  5  6
    y_ranked = np.array([1, 0, 1, 0, 0, 1])
    # thieves at ranks 1, 3, 6: precision 1/1, 2/3, 3/6; top 4 holds two thieves
    assert theft_average_precision_at_k(y_ranked, 4) == pytest.approx((1 + 2 / 3) / 2)
    assert theft_average_precision_at_k(y_ranked, 6) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert theft_average_precision_at_k(np.array([0, 0, 1]), 2) == 0.0

    scores = np.array([0.1, 0.9, 0.5, 0.8, 0.3, 0.7])  # rank order: rows 1, 3, 5, 2, 4, 0
    y = np.array([1, 1, 0, 0, 0, 1])
    m = evaluate(y, scores, n_boot=0)
    # ranked labels 1, 0, 1, 0, 0, 1 -> the same as above, with k capped at 6
    assert m["map_at_100"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)


def test_precision_and_recall_at_k_are_capped_by_the_set_size():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1] * 5)  # 50 customers, 15 thieves
    scores = np.linspace(1, 0, 50)
    m = evaluate(y, scores, n_boot=0)
    assert m["k_used"] == {"100": 50, "200": 50, "1%": 1, "5%": 2}
    assert m["precision_at_k"]["100"] == pytest.approx(15 / 50)
    assert m["recall_at_k"]["100"] == 1.0
    assert m["precision_at_k"]["1%"] == 1.0
    assert m["precision_at_k"]["5%"] == 0.5
    assert m["recall_at_k"]["5%"] == pytest.approx(1 / 15)


def test_undefined_metrics_are_none_with_a_reason_never_nan():
    m = evaluate(np.zeros(20, dtype=int), np.linspace(0, 0.4, 20), threshold=0.5)
    for key in ("roc_auc", "pr_auc", "recall", "map_at_100", "roc_auc_ci", "precision", "kappa"):
        assert m[key] is None, key
        assert m["undefined"][key]
    assert m["accuracy"] == 1.0
    text = json.dumps(m)  # JSON-ready: no NaN, no numpy types
    assert "NaN" not in text


def test_curves_are_thinned_for_storage():
    rng = np.random.default_rng(1)
    y = (rng.random(5000) < 0.3).astype(int)
    s = rng.random(5000)
    m = evaluate(y, s, n_boot=0)
    assert 100 < len(m["roc_curve"]["fpr"]) <= 500
    assert m["roc_curve"]["fpr"][0] == 0.0 and m["roc_curve"]["tpr"][-1] == 1.0
    assert len(m["pr_curve"]["precision"]) <= 500
    assert m["roc_curve"]["thresholds"][0] is None  # sklearn's +inf


def test_threshold_best_f1_and_inspection_budget_on_validation():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.9])
    threshold, how = choose_threshold(y, s, "f1")
    assert threshold == 0.35  # flags the four thieves and one normal: F1 = 8/9
    assert "F1" in how
    # 4 inspections among 16 test customers = a quarter: rank 2 of the 8 validation customers
    threshold, how = choose_threshold(y, s, "budget:4", n_test=16)
    assert threshold == 0.7
    assert choose_threshold(y, s, "0.5")[0] == 0.5
    for bad in ("magic", "budget:0", "1.5"):
        with pytest.raises(TrainingError, match="Unknown threshold rule"):
            choose_threshold(y, s, bad)


def test_comparison_table_lists_skipped_models_with_their_reason(example):
    y, s = example
    results = {"gbm": evaluate(y, s, n_boot=50), "cnn_lstm": "26 days is too short"}
    frame = comparison_frame(results)
    assert frame.loc["gbm", "ROC-AUC"] == pytest.approx(skm.roc_auc_score(y, s))
    assert frame.loc["cnn_lstm", "note"] == "skipped: 26 days is too short"
    text = comparison_table(results, title="honest protocol")
    assert text.splitlines()[0] == "honest protocol"
    assert f"{skm.roc_auc_score(y, s):.3f}" in text
    assert "skipped: 26 days is too short" in text


def test_precision_at_k_and_map_break_ties_by_file_order_as_documented():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.8, 0.8, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1])
    m = evaluate(y, s, 0.5, n_boot=0)

    # ranked labels: 1, 0, 1, 0 (the three tied 0.8 in file order), 0, 0, 1, 0, 0, 0
    assert m["k_used"] == {"100": 10, "200": 10, "1%": 1, "5%": 1}
    assert m["precision_at_k"] == {"100": 0.3, "200": 0.3, "1%": 1.0, "5%": 1.0}
    assert m["recall_at_k"]["1%"] == pytest.approx(1 / 3)
    assert m["map_at_100"] == pytest.approx((1 / 1 + 2 / 3 + 3 / 7) / 3)
    assert m["kappa"] == pytest.approx(skm.cohen_kappa_score(y, s >= 0.5))


def test_scores_of_exactly_0_or_1_give_scikit_learns_clipped_finite_loss():
    y = np.array([1, 0, 1, 0])
    wrong = evaluate(y, np.array([1.0, 0.0, 0.0, 1.0]), n_boot=0)
    right = evaluate(y, np.array([1.0, 0.0, 1.0, 0.0]), n_boot=0)

    assert wrong["loss"] == pytest.approx(skm.log_loss(y, [1.0, 0.0, 0.0, 1.0], labels=[0, 1]))
    assert wrong["loss"] == pytest.approx(-np.log(np.finfo(float).eps) / 2)  # two of four wrong
    assert right["loss"] < 1e-12


def test_labels_other_than_0_and_1_and_scores_outside_0_1_are_refused():
    with pytest.raises(ValueError, match="labels must be 0"):
        evaluate(np.array([1.0, 0.0, 0.5]), np.array([0.2, 0.3, 0.4]), n_boot=0)
    with pytest.raises(ValueError, match="outside"):
        evaluate(np.array([1, 0, 1]), np.array([2.0, -1.0, 0.5]), n_boot=0)


def test_the_pr_auc_definition_is_stated_in_the_metrics_and_the_table(example):
    y, s = example
    m = evaluate(y, s, n_boot=0)
    assert m["pr_auc_definition"].startswith("average precision")
    text = comparison_table({"gbm": m})
    assert "PR-AUC(AP)" in text.splitlines()[0]
    assert "PR-AUC(AP) is average precision" in text.splitlines()[-2]
