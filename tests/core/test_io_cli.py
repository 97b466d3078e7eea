"""``etd info`` and ``etd demo-data`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from core.cli import main
from core.io import read_dataset

INFO_KEYS = {
    "customers",
    "days",
    "first_day",
    "last_day",
    "theft",
    "normal",
    "unlabelled",
    "missing_fraction",
    "zero_fraction",
    "notes",
}


def test_info_json_on_the_191_slice(sgcc_191, capsys):
    assert main(["--quiet", "info", str(sgcc_191), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)

    assert set(summary) == INFO_KEYS
    assert summary["customers"] == 191
    assert summary["days"] == 1035
    assert summary["first_day"] == "2014-01-01"
    assert summary["last_day"] == "2016-10-31"
    assert summary["theft"] == 97
    assert summary["normal"] == 94
    assert summary["unlabelled"] == 0
    assert summary["missing_fraction"] == round(191 / (191 * 1035), 6)
    assert len(summary["notes"]) == 1 and "2016-09-18" in summary["notes"][0]


def test_info_text_with_a_named_id_column(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("Zähler,2014-01-01,2014-01-02\nA,0,\nB,2,-1\n", encoding="utf-8")
    assert main(["--quiet", "info", str(path), "--id-column", "Zähler"]) == 0
    out = capsys.readouterr().out

    assert "customers  2" in out
    assert "days       2 (2014-01-01 .. 2014-01-02)" in out
    assert "unknown 2" in out
    assert "missing    50.00% of cells" in out
    assert "negative reading(s) were made missing" in out


def test_info_error_exits_2_with_a_message_and_no_traceback(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("CONS_NO,FLAG,2014-01-01\nA,7,1\n")
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "--quiet", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "etd: error:" in done.stderr
    assert "row 2 (customer A): '7'" in done.stderr
    assert done.stdout == ""


def test_demo_data_writes_the_sgcc_layout(tmp_path, capsys):
    out = tmp_path / "demo.csv"
    code = main(
        ["--quiet", "demo-data", str(out), "--customers", "40", "--days", "15", "--seed", "3"]
    )
    assert code == 0
    assert "40 customers x 15 days" in capsys.readouterr().out

    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["CONS_NO", "FLAG", "2014/1/1", "2014/1/10"]
    data = read_dataset(out)
    assert data.n_customers == 40
    assert data.n_days == 15
    assert data.unlabelled_count == 0


def test_demo_data_then_info_on_it(tmp_path, capsys):
    out = tmp_path / "demo.csv"
    assert main(["--quiet", "demo-data", str(out), "--customers", "50", "--days", "40"]) == 0
    capsys.readouterr()
    assert main(["--quiet", "info", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)

    assert summary["customers"] == 50
    assert summary["days"] == 40
    assert summary["theft"] + summary["normal"] == 50
    assert not list(tmp_path.glob("*.part"))


def test_demo_data_into_a_missing_folder_is_a_message(tmp_path, capsys):
    out = tmp_path / "no such folder" / "demo.csv"
    assert main(["--quiet", "demo-data", str(out), "--customers", "5", "--days", "3"]) == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err
    assert "Traceback" not in err


def test_demo_data_refuses_odd_numbers_with_a_usage_message(tmp_path, capsys):
    import pytest

    out = str(tmp_path / "demo.csv")
    for args, expected in [
        (["--customers", "0"], "must be at least 1, not 0"),
        (["--customers", "abc"], "must be a whole number, not 'abc'"),
        (["--seed", "-1"], "must be at least 0, not -1"),
    ]:
        with pytest.raises(SystemExit) as stopped:
            main(["--quiet", "demo-data", out, *args])
        assert stopped.value.code == 2
        assert expected in capsys.readouterr().err
