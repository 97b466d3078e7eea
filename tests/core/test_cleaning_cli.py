"""``etd clean``: a data file in, a cleaned Parquet file out that the readers take back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.cli import main
from core.dataset import ConsumptionData
from core.io import read_dataset, write_wide_csv
from core.recipe import Recipe, clean


def small_file(tmp_path):
    rng = np.random.default_rng(0)
    kwh = rng.gamma(3.0, 2.0, size=(30, 40)).astype(np.float32)
    kwh[np.arange(30), rng.integers(0, 40, size=30)] = np.nan
    kwh[::3, 5:20] = np.nan
    kwh[4, 8] = 300.0
    ids = [f"{i:032X}" for i in range(30)]
    labels = (np.arange(30) % 5 == 1).astype(int)
    data = ConsumptionData(ids, pd.date_range("2014-01-01", periods=40), kwh, labels)
    path = tmp_path / "raw.csv"
    write_wide_csv(data, path)
    return path


def test_clean_command_writes_parquet_the_readers_read_back(tmp_path, capsys):
    raw = small_file(tmp_path)
    out, recipe_path = tmp_path / "clean.parquet", tmp_path / "recipe.json"

    code = main(["--quiet", "clean", str(raw), "--out", str(out), "--recipe-out", str(recipe_path)])

    assert code == 0
    text = capsys.readouterr().out
    assert "missing-data filter: kept 20 of 30" in text
    assert "theft      kept       4   dropped       2" in text
    back = read_dataset(out)
    expected, _ = clean(read_dataset(raw), Recipe())
    assert list(back.customer_ids) == list(expected.customer_ids)
    np.testing.assert_array_equal(back.kwh, expected.kwh)
    np.testing.assert_array_equal(back.labels, expected.labels)
    assert back.days.equals(expected.days)
    assert Recipe.from_dict(json.loads(recipe_path.read_text())) == Recipe()


def test_clean_command_options_reach_the_recipe(tmp_path, capsys):
    raw = small_file(tmp_path)
    out = tmp_path / "clean.parquet"

    code = main(
        [
            "--quiet",
            "clean",
            str(raw),
            "--out",
            str(out),
            "--threshold",
            "0.5",
            "--impute",
            "linear",
            "--treatment",
            "drop",
            "--outliers",
            "sigma",
            "--factor",
            "4",
        ]
    )

    assert code == 0
    text = capsys.readouterr().out
    assert "imputation (linear)" in text and "outliers (sigma, factor 4, drop)" in text
    assert read_dataset(out).n_customers < 30


def test_a_bad_threshold_is_a_clear_error(tmp_path, capsys):
    raw = small_file(tmp_path)

    code = main(["clean", str(raw), "--out", str(tmp_path / "x.parquet"), "--threshold", "3"])

    assert code == 2
    assert "threshold is 3" in capsys.readouterr().err
