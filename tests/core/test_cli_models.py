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
    assert "PR-AUC(AP) is average precision" in text
    assert "in the top 1 " not in text  # a list of one says nothing
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


def test_bad_settings_are_refused_before_the_file_is_read(tmp_path, capsys):
    missing = str(tmp_path / "not_there.csv")
    for extra, message in (
        (["--epochs", "0"], "Epochs must be a whole number of at least 1"),
        (["--epochs", "-1"], "got -1"),
        (["--param", "mlp.batch_size=abc"], "mlp.batch_size takes a number"),
        (["--param", "svm.depth=3"], "unknown model 'svm'"),
        (["--models", "gbm,mpl"], "Unknown model: mpl"),
    ):
        code = main(["--quiet", "train", missing, "--models", "gbm", *extra])
        assert code == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_a_stop_during_training_keeps_what_finished_and_exits_130(tmp_path, capsys, monkeypatch):
    """A Ctrl+C while the first model trains: that model keeps its best weights, the next one
    is not run, the run folder is written and the exit code is 130."""
    import core.training
    from core.demo import make_demo
    from core.io import write_wide_csv

    data_path = tmp_path / "demo.csv"
    data = make_demo(n_customers=200, n_days=30, missing_rate=0.0, zero_rate=0.0, seed=2)
    write_wide_csv(data, data_path)
    real_train = core.training.train_model

    def train_then_ctrl_c(name, *args, state=None, **kwargs):
        trained = real_train(name, *args, state=state, **kwargs)
        state.cancel()  # what the progress bar's SIGINT handler does
        return trained

    monkeypatch.setattr(core.training, "train_model", train_then_ctrl_c)
    out = tmp_path / "run"
    code = main(["--quiet", "train", str(data_path), "--models", "gbm,mlp", "--out", str(out),
                 *QUICK])  # fmt: skip
    text = capsys.readouterr().out

    assert code == 130
    assert "Stopped by the user" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["gbm"]["roc_auc"] is not None
    assert metrics["mlp"] == {**metrics["mlp"], "skipped": "not run: stopped by the user"}
    assert (out / "artifacts" / "gbm" / "manifest.json").is_file()
    assert not (out / "artifacts" / "mlp").exists()


def test_a_run_folder_is_never_overwritten_and_scores_need_a_file_name(trained_191, capsys):
    from tests.conftest import SGCC_191

    _, out = trained_191
    code = main(["--quiet", "train", str(SGCC_191), "--models", "gbm", "--out", str(out)])
    assert code == 2 and "already holds a run" in capsys.readouterr().err
    code = main(["--quiet", "score", str(out / "artifacts" / "gbm"), str(SGCC_191), "--out",
                 str(out)])  # fmt: skip
    assert code == 2 and "give the name of the CSV file" in capsys.readouterr().err


def test_folds_cross_validate_and_too_few_thieves_for_smote_get_command_line_advice(
    tmp_path, capsys
):
    from core.demo import make_demo
    from core.io import write_wide_csv

    data = make_demo(n_customers=120, n_days=30, theft_fraction=0.1, missing_rate=0.0,
                     zero_rate=0.0, seed=1)  # fmt: skip
    path = tmp_path / "twelve.csv"
    write_wide_csv(data, path)
    common = ["--quiet", "train", str(path), "--models", "gbm", "--folds", "3", *QUICK]

    code = main([*common, "--out", str(tmp_path / "refused")])
    assert code == 2
    assert "--balance-param k_neighbors=K" in capsys.readouterr().err

    out = tmp_path / "folds"
    code = main([*common, "--balance-param", "k_neighbors=3", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "3-fold cross-validation" in text and "±" in text
    summary = json.loads((out / "folds.json").read_text())
    assert summary["gbm"]["folds_done"] == 3
    assert all((out / f"fold_{i}" / "metrics.json").is_file() for i in (1, 2, 3))
