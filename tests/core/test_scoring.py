"""Scoring with a saved model: rank, percentile, flag, and customers that cannot be scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.artifact import load_artifact
from core.dataset import UNKNOWN
from core.demo import make_demo
from core.protocol import run_experiment
from core.scoring import COLUMNS, rank_scores, score


def test_rank_percentile_and_flag_follow_the_documented_rules():
    frame = rank_scores(["a", "b", "c", "d", "e"], np.array([0.2, np.nan, 0.9, 0.2, 0.5]), 0.5)

    assert frame["customer"].tolist() == ["c", "e", "a", "d", "b"]
    assert frame["rank"].tolist()[:4] == [1, 2, 3, 4]  # ties keep the file order: a before d
    assert frame["rank"].isna().tolist() == [False] * 4 + [True]
    assert frame["percentile"].tolist()[:4] == [100.0, 75.0, 50.0, 50.0]
    assert frame["flag"].tolist()[:4] == [True, True, False, False]
    assert frame["flag"].isna().iloc[4]
    assert frame["scorable"].tolist() == [True] * 4 + [False]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    data = make_demo(n_customers=250, n_days=40, missing_rate=0.0, zero_rate=0.0, seed=8)
    out = tmp_path_factory.mktemp("run")
    run_experiment(data, models=("gbm",), model_params={"gbm": {"max_iter": 20}}, out_dir=out)
    return load_artifact(out / "artifacts" / "gbm")


def test_every_customer_is_listed_and_gappy_ones_are_not_scorable_with_a_reason(artifact):
    data = make_demo(n_customers=80, n_days=40, missing_rate=0.0, zero_rate=0.0, seed=9)
    kwh = data.kwh.copy()
    kwh[:5, :20] = np.nan  # half the days missing: the 3% filter drops these five
    labels = data.labels.copy()
    labels[10:20] = UNKNOWN
    data = data.with_kwh(kwh).with_labels(labels)

    frame = score(artifact, data)

    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 80 and set(frame["customer"]) == set(data.customer_ids)
    gappy = frame[frame["customer"].isin(data.customer_ids[:5])]
    assert not gappy["scorable"].any()
    assert gappy["score"].isna().all()
    assert all("missing" in r or "%" in r for r in gappy["reason"]), gappy["reason"].tolist()
    scored = frame[frame["scorable"]]
    n_ok = len(scored)  # a "zero_stretches" thief may be dropped too: its zeros count as missing
    assert 70 <= n_ok <= 75
    assert scored["rank"].tolist() == list(range(1, n_ok + 1))
    assert scored["score"].is_monotonic_decreasing
    assert scored["percentile"].iloc[0] == 100.0
    assert (scored["flag"] == (scored["score"] >= artifact.threshold)).all()
    assert (scored["reason"] == "").all()
    assert frame.attrs["not_scorable"] == 80 - n_ok
    assert not frame["scorable"].iloc[n_ok:].any()  # not-scorable customers come last
    unknown = frame[frame["customer"].isin(data.customer_ids[10:20])]
    assert unknown["label"].isna().all()
    assert pd.api.types.is_integer_dtype(frame["label"].dtype)


def test_scores_do_not_depend_on_which_other_customers_are_scored(artifact):
    data = make_demo(n_customers=60, n_days=40, missing_rate=0.0, zero_rate=0.0, seed=10)
    whole = score(artifact, data).set_index("customer")["score"]
    part = score(artifact, data.subset(np.arange(20))).set_index("customer")["score"]
    np.testing.assert_allclose(part.to_numpy(), whole.loc[part.index].to_numpy(), rtol=1e-6)


def test_a_new_period_of_the_same_length_is_scored_with_a_note(artifact):
    later = make_demo(
        n_customers=30, n_days=40, start="2015-03-01", missing_rate=0.0, zero_rate=0.0, seed=2
    )
    frame = score(artifact, later)
    assert frame["scorable"].all()
    assert any("2015-03-01" in note for note in frame.attrs["notes"])
