"""The two real SGCC slices import with the exact figures their README gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.io import read_dataset


def test_191_slice_has_every_calendar_day_with_the_absent_one_inserted(sgcc_191):
    data = read_dataset(sgcc_191)

    assert data.n_customers == 191
    assert data.n_days == 1035
    assert data.days[0] == pd.Timestamp("2014-01-01")
    assert data.days[-1] == pd.Timestamp("2016-10-31")
    assert data.theft_count == 97
    assert data.normal_count == 94

    inserted = data.days.get_loc(pd.Timestamp("2016-09-18"))
    assert np.isnan(data.kwh[:, inserted]).all()
    # The slice itself has no empty cells: the inserted day is the only missing column.
    assert int(np.isnan(data.kwh).sum()) == 191
    notes = {n.kind: n for n in data.notes}
    assert notes["days_inserted"].count == 1
    assert notes["days_inserted"].examples == ["2016-09-18"]
    assert "2016-09-18" in notes["days_inserted"].message


def test_191_slice_source_records_file_and_dialect(sgcc_191):
    data = read_dataset(sgcc_191)

    assert data.source["sha256"] == (
        "5265609f0342d9d500b7233dc9f42abd9c1467b2b6d9c642d79863a044d60dd5"
    )
    assert data.source["name"] == "sgcc_191_customers_1034_days.csv"
    assert data.source["format"] == "csv"
    assert data.source["layout"] == "wide"
    assert data.source["delimiter"] == ","
    assert data.source["decimal"] == "."
    assert data.source["encoding"] == "utf-8"
    assert data.source["id_column"] == "CONS_NO"
    assert data.source["label_column"] == "FLAG"


def test_25863_slice_reads_mixed_padding_month_first_in_date_order(sgcc_25863):
    data = read_dataset(sgcc_25863)

    assert data.n_customers == 25863
    assert data.n_days == 26
    assert list(data.days) == list(pd.date_range("2014-01-01", "2014-01-26"))
    assert data.theft_count == 2122
    assert data.normal_count == 23741
    assert int(np.isnan(data.kwh).sum()) == 125
    assert data.source["day_style"] == "month/day/year"
    assert not any(n.kind == "days_inserted" for n in data.notes)

    # First row of the file: 01/01/2014 is 2401, 01/12/2014 is 1140, 1/13/2014 is 1051.
    first = data.index_of("A0E791400CF1C48C43DC26A68227854A")
    assert data.kwh[first, 0] == 2401
    assert data.kwh[first, 11] == 1140
    assert data.kwh[first, 12] == 1051
    assert data.kwh[first, 25] == 2272


def test_25863_slice_keeps_customers_that_are_zero_on_every_day(sgcc_25863):
    data = read_dataset(sgcc_25863)

    with np.errstate(invalid="ignore"):
        all_zero = np.fmax.reduce(data.kwh, axis=1) == 0
    assert int(all_zero.sum()) == 3731
    note = next(n for n in data.notes if n.kind == "customers_all_zero")
    assert note.count == 3731
    assert np.nanmax(data.kwh) > 500_000  # the extreme spikes are kept as they are
