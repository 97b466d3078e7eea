"""Bad input: every kind gets a message naming the file, row, column or value, and what to do."""

from __future__ import annotations

import numpy as np
import pytest

from core.dataset import THEFT
from core.errors import DataFileError
from core.io import preview, read_dataset


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path, **kwargs) -> str:
    with pytest.raises(DataFileError) as caught:
        read_dataset(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    message = refused(write(tmp_path, "empty.csv", content))
    assert "the file is empty" in message


def test_header_without_rows(tmp_path):
    message = refused(write(tmp_path, "header.csv", "CONS_NO,FLAG,2014-01-01\n"))
    assert "no customer rows" in message


def test_missing_file_and_old_excel(tmp_path):
    assert "does not exist" in refused(tmp_path / "nowhere.csv")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert ".xlsx or CSV" in refused(old)


def test_no_date_columns(tmp_path):
    message = refused(write(tmp_path, "nodates.csv", "CONS_NO,FLAG,usage\nA,1,3\n"))
    assert "no date columns" in message
    assert "'usage'" in message


def test_a_header_that_is_not_a_calendar_day(tmp_path):
    text = "CONS_NO,FLAG,2014/2/28,2014/2/30\nA,1,1,2\n"
    message = refused(write(tmp_path, "feb30.csv", text))
    assert "'2014/2/30'" in message
    assert "not real calendar dates" in message


def test_two_columns_for_the_same_day(tmp_path):
    text = "CONS_NO,FLAG,2014/1/1,2014-01-02,2014-01-01\nA,1,1,2,3\n"
    message = refused(write(tmp_path, "twice.csv", text))
    assert "'2014/1/1' and '2014-01-01'" in message
    assert "2014-01-01" in message


def test_labels_other_than_0_and_1_are_never_coerced(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\nB,2,1\nC,yes,1\nD,0,1\n"
    message = refused(write(tmp_path, "flags.csv", text))
    assert "column 'FLAG'" in message
    assert "row 3 (customer B): '2'" in message
    assert "row 4 (customer C): 'yes'" in message
    assert "2 row(s)" in message


def test_identical_duplicate_rows_are_merged_with_a_note(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01,2014-01-02\nA,1,1,\nB,0,2,3\nA,1,1,\n"
    data = read_dataset(write(tmp_path, "dupes.csv", text))

    assert list(data.customer_ids) == ["A", "B"]
    note = next(n for n in data.notes if n.kind == "duplicates_merged")
    assert note.examples == ["A"]
    assert "1 row(s) dropped" in note.message


def test_conflicting_duplicate_ids_are_refused_naming_them(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\nB,0,2\nA,1,5\nB,1,2\n"
    message = refused(write(tmp_path, "clash.csv", text))
    assert "A (rows 2, 4)" in message
    assert "B (rows 3, 5)" in message


def test_non_numeric_cells_are_made_missing_counted_and_shown(tmp_path):
    rows = ["CONS_NO,FLAG,2014/3/3,2014/3/4"] + [f"C{i},0,{i},{i}" for i in range(20)]
    rows[11] = "C10,0,10,abc"
    rows[15] = "C14,0,12 kWh,#N/A"
    data = read_dataset(write(tmp_path, "text.csv", "\n".join(rows) + "\n"))

    assert np.isnan(data.kwh[10, 1])
    assert data.kwh[10, 0] == 10
    assert np.isnan(data.kwh[14]).all()
    note = next(n for n in data.notes if n.kind == "cells_coerced")
    # '#N/A' is one of pandas' missing markers, so it is an empty cell, not a bad one.
    assert note.count == 2
    assert "row 12, column 2014/3/4: 'abc'" in note.examples
    assert "row 16, column 2014/3/3: '12 kWh'" in note.examples
    assert "row 12, column 2014/3/4: 'abc'" in note.message


def test_negative_readings_are_made_missing_and_reported(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01,2014-01-02\nA,1,1,-4.5\nB,0,2,3\n"
    data = read_dataset(write(tmp_path, "negative.csv", text))

    assert np.isnan(data.kwh[0, 1])
    assert data.kwh[1, 1] == 3
    note = next(n for n in data.notes if n.kind == "negative_readings")
    assert note.count == 1
    assert note.examples == ["row 2 (customer A), 2014-01-02: -4.5"]
    assert "made missing" in note.message


def test_customers_and_days_without_readings_are_kept_and_noted(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01,2014-01-02,2014-01-03\nA,1,1,,2\nB,0,,,\nC,0,0,,0\n"
    data = read_dataset(write(tmp_path, "holes.csv", text))

    assert data.n_customers == 3 and data.n_days == 3
    notes = {n.kind: n for n in data.notes}
    assert notes["customers_without_readings"].examples == ["B"]
    assert notes["days_without_readings"].examples == ["2014-01-02"]
    assert notes["customers_all_zero"].examples == ["C"]


def test_one_class_only_imports_with_a_note(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\nB,1,2\n"
    data = read_dataset(write(tmp_path, "thieves.csv", text))

    assert list(data.labels) == [THEFT, THEFT]
    note = next(n for n in data.notes if n.kind == "one_class")
    assert "every labelled customer is theft" in note.message.lower()


def test_no_id_column_names_the_candidates_and_the_option(tmp_path):
    text = "account,FLAG,2014-01-01\nA,1,1\n"
    message = refused(write(tmp_path, "noid.csv", text))
    assert "no customer id column" in message
    assert "'account', 'FLAG'" in message
    assert "--id-column" in message

    look = preview(tmp_path / "noid.csv")
    assert look.id_column is None
    assert look.candidate_columns == ["account", "FLAG"]
    assert any("--id-column" in w for w in look.warnings)


def test_a_named_column_that_is_not_there(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\n"
    message = refused(write(tmp_path, "named.csv", text), id_column="meter")
    assert "no column 'meter'" in message
    assert "'CONS_NO'" in message


def test_a_row_without_an_id(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\n,0,2\n"
    message = refused(write(tmp_path, "blank.csv", text))
    assert "row 3" in message
    assert "no customer id" in message


def test_a_row_with_too_many_fields(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\nB,0,2,7,8\n"
    message = refused(write(tmp_path, "ragged.csv", text))
    assert "row 3 has 5 fields but the header has 3 columns" in message


def test_a_row_with_too_many_fields_past_the_sniffed_sample(tmp_path):
    rows = "".join(f"A{i},1,1\n" for i in range(60))
    text = "CONS_NO,FLAG,2014-01-01\n" + rows + "B,0,2,7,8\n"
    message = refused(write(tmp_path, "ragged.csv", text))
    assert "not a regular table" in message
    assert "line 62" in message


def test_a_labels_file_with_bad_labels_or_conflicts(tmp_path):
    data = write(tmp_path, "data.csv", "CONS_NO,2014-01-01\nA,1\nB,2\n")
    bad = write(tmp_path, "labels.csv", "customer,label\nA,1\nB,theft\n")
    with pytest.raises(DataFileError) as caught:
        read_dataset(data, labels_path=bad)
    message = str(caught.value)
    assert message.startswith(str(bad))
    assert "row 3 (customer B): 'theft'" in message

    twice = write(tmp_path, "twice.csv", "customer,label\nA,1\nA,0\n")
    with pytest.raises(DataFileError, match=r"customer A is listed twice.*row 3"):
        read_dataset(data, labels_path=twice)


def test_a_labels_file_without_header(tmp_path):
    data = write(tmp_path, "data.csv", "CONS_NO,2014-01-01\nA,1\nB,2\n")
    labels = write(tmp_path, "labels.csv", "A,1\nB,0\n")
    assert list(read_dataset(data, labels_path=labels).labels) == [1, 0]


def test_non_numeric_cells_in_a_decimal_comma_file(tmp_path):
    text = "CONS_NO;FLAG;2014-01-01;2014-01-02\nA;1;1,5;n.v.\nB;0;2,25;3\n"
    data = read_dataset(write(tmp_path, "de.csv", text))

    np.testing.assert_allclose(data.kwh, [[1.5, np.nan], [2.25, 3]], equal_nan=True)
    note = next(n for n in data.notes if n.kind == "cells_coerced")
    assert note.examples == ["row 2, column 2014-01-02: 'n.v.'"]


def test_infinite_readings_are_made_missing(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01,2014-01-02\nA,1,inf,1\nB,0,2,1e60\n"
    data = read_dataset(write(tmp_path, "inf.csv", text))

    assert np.isnan(data.kwh[0, 0]) and np.isnan(data.kwh[1, 1])
    note = next(n for n in data.notes if n.kind == "infinite_readings")
    assert note.count == 2
    assert note.examples[0] == "row 2 (customer A), 2014-01-01"
