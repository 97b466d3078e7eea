"""``etd train``, ``etd score`` and ``etd pipeline`` run end to end and write what they say."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main

# One or two epochs, and no XLA compile: on a busy CPU it costs more than these tiny fits.
QUICK = [
    "--param", "mlp.jit_compile=false",
    "--param", "cnn_lstm.jit_compile=false",
    "--param", "conv_lstm.jit_compile=false",
    "--param", "gbm.max_iter=30",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained_191(tmp_path_factory):
    from tests.conftest import SGCC_191

    if not SGCC_191.exists():
        pytest.skip(f"real SGCC slice not found at {SGCC_191}")
    out = tmp_path_factory.mktemp("run191")
    code = main(
        ["--quiet", "train", str(SGCC_191), "--models", "mlp,cnn_lstm,conv_lstm,gbm",
         "--epochs", "1", "--patience", "1", "--out", str(out), *QUICK]
    )  # fmt: skip
    return code, out


def test_train_runs_all_four_models_on_real_customers_with_the_honest_protocol(trained_191):
    code, out = trained_191
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics) == ["cnn_lstm", "conv_lstm", "gbm", "mlp"]
    for name, entry in metrics.items():
        assert "skipped" not in entry, (name, entry.get("skipped"))
        assert entry["protocol"].startswith("honest")
        assert entry["leaking"] is False
        assert entry["synthetic_test_rows"] == 0
        assert 0.0 <= entry["roc_auc"] <= 1.0
        assert entry["n"] + entry["n_test_not_scorable"] == 39  # 20% of 191 customers
        assert (out / "artifacts" / name / "manifest.json").is_file()
    assert json.loads((out / "histories.json").read_text())["mlp"]["val_loss"]
    assert "ROC-AUC" in (out / "comparison.txt").read_text()


def test_score_writes_every_customer_with_rank_percentile_and_flag(trained_191, tmp_path, capsys):
    from tests.conftest import SGCC_191

    _, out = trained_191
    target = tmp_path / "scores.csv"
    project = tmp_path / "scores.etdproj"
    code = main(["--quiet", "score", str(out / "artifacts" / "gbm"), str(SGCC_191), "--out",
                 str(target), "--project", str(project)])  # fmt: skip
    assert code == 0
    frame = pd.read_csv(target, keep_default_na=False, na_values=[""])
    assert list(frame.columns[:7]) == [
        "customer", "score", "rank", "percentile", "flag", "scorable", "reason"
    ]  # fmt: skip
    assert len(frame) == 191
    dropped = frame[~frame["scorable"]]
    assert len(dropped) > 0  # the 3% filter drops some of the 191
    assert dropped["score"].isna().all() and (dropped["reason"].str.len() > 0).all()
    kept = frame[frame["scorable"]]
    assert kept["rank"].tolist() == list(range(1, len(kept) + 1))
    assert "customers scored with gbm" in capsys.readouterr().out

    from core.project import Project

    with Project.open(project, read_only=True) as stored:
        (run,) = stored.list_runs()
        assert run["protocol"].startswith("scoring with a saved model (honest")
        kept_in_project = stored.scores(run["id"], "gbm")
        assert len(kept_in_project) == 191
        assert kept_in_project["customer"].tolist()[:5] == frame["customer"].tolist()[:5]


def test_score_refuses_data_of_another_day_count(trained_191, sgcc_25863, capsys):
    _, out = trained_191
    code = main(["--quiet", "score", str(out / "artifacts" / "gbm"), str(sgcc_25863), "--out",
                 "unused.csv"])  # fmt: skip
    assert code == 2
    assert "1,035 days" in capsys.readouterr().err


def test_pipeline_on_a_small_demo_ends_with_the_report_and_fills_the_project(tmp_path, capsys):
    from core.project import Project

    out = tmp_path / "pipe"
    project = tmp_path / "demo.etdproj"
    code = main(
        ["--quiet", "pipeline", "--customers", "600", "--epochs", "1", "--models", "gbm,mlp",
         "--out", str(out), "--project", str(project), *QUICK]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "600 customers x 1,035 days" in text and "synthetic demo data" in text
    assert "cleaning: kept train" in text
    assert "ROC-AUC" in text and "Top 10 customers to inspect" in text
    assert (out / "metrics.json").is_file()
    scores = list(out.glob("scores_*.csv"))
    assert len(scores) == 1
    assert len(pd.read_csv(scores[0])) == 600

    with Project.open(project, read_only=True) as stored:
        (run,) = stored.list_runs()
        assert sorted(run["results"]) == ["gbm", "mlp"]
        assert run["protocol"] == "honest"
        best = scores[0].stem.removeprefix("scores_")
        assert len(stored.scores(run["id"], best)) == 600
        artifact = stored.load_artifact(run["id"], best)
        assert artifact.name == best


def test_unknown_model_names_are_refused_with_the_known_ones(tmp_path, capsys):
    code = main(["--quiet", "pipeline", "--customers", "100", "--models", "gbm,svm",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "svm" in capsys.readouterr().err
