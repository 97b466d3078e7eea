"""Files as utilities really export them, each of which once broke or fooled the importer."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.errors import DataFileError
from core.io import preview, read_dataset


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def refused(path, **kwargs) -> str:
    with pytest.raises(DataFileError) as caught:
        read_dataset(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message
    return message


def kinds(data) -> list[str]:
    return [note.kind for note in data.notes]


def test_quoted_numbers_with_thousands_separators_are_read(tmp_path):
    text = 'CONS_NO,FLAG,2014/1/1,2014/1/2\nA,0,"1,234.5",2\nB,1,3,"10,000"\n'
    data = read_dataset(write(tmp_path, "grouped.csv", text))

    np.testing.assert_allclose(data.kwh, [[1234.5, 2], [3, 10000]])
    assert "cells_coerced" not in kinds(data)


def test_decimal_comma_with_point_or_space_thousands(tmp_path):
    text = "CONS_NO;FLAG;2014-01-01;2014-01-02;2014-01-03\nA;0;1.234,5;2,5;1 000\nB;1;3,25;1,5;7\n"
    data = read_dataset(write(tmp_path, "de.csv", text))

    assert data.source["decimal"] == ","
    np.testing.assert_allclose(data.kwh, [[1234.5, 2.5, 1000], [3.25, 1.5, 7]])


def test_a_comma_that_is_not_a_thousands_group_stays_a_reported_bad_cell(tmp_path):
    text = 'CONS_NO,FLAG,2014/1/1,2014/1/2\nA,0,"1,5",2\nB,1,3,4\n'
    data = read_dataset(write(tmp_path, "odd.csv", text))

    assert np.isnan(data.kwh[0, 0])
    assert "'1,5'" in data.notes[kinds(data).index("cells_coerced")].message


def test_dash_null_and_na_strings_are_missing_not_bad_cells(tmp_path):
    text = (
        "CONS_NO,FLAG,2014/1/1,2014/1/2,2014/1/3,2014/1/4,2014/1/5\n"
        "A,0,NaN,NULL,-,n/a,5\nB,1,3,4,N/A,#N/A,--\n"
    )
    data = read_dataset(write(tmp_path, "markers.csv", text))

    np.testing.assert_array_equal(np.isnan(data.kwh).sum(), 7)
    assert "cells_coerced" not in kinds(data)


def test_a_first_row_with_more_fields_than_the_header_is_refused_not_shifted(tmp_path):
    # Pandas would take the two extra leading fields as an index and shift every column.
    text = "CONS_NO,FLAG,2014/1/1,2014/1/2\nA1,0,1,2,5,6\nA2,1,3,4\n"
    message = refused(write(tmp_path, "ragged.csv", text))

    assert "row 2 has 6 fields but the header has 4 columns" in message


def test_a_binary_file_renamed_csv_is_refused(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 20)

    assert "binary data" in refused(path)
    with pytest.raises(DataFileError, match="binary data"):
        preview(path)


def test_a_binary_file_through_the_cli_is_a_message_not_an_internal_error(tmp_path, capsys):
    path = tmp_path / "photo.csv"
    path.write_bytes(os.urandom(4000) + b"\x00")

    assert main(["--quiet", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "binary data" in err
    assert "Traceback" not in err


def test_a_long_file_whose_header_repeats_a_name(tmp_path):
    text = "meter_id,timestamp,kwh,kwh\nm1,2014-01-01,1,9\nm1,2014-01-02,2,9\n"
    data = read_dataset(write(tmp_path, "twice.csv", text))

    np.testing.assert_allclose(data.kwh, [[1, 2]])


def test_xlsx_text_ids_keep_their_leading_zeros(tmp_path):
    path = tmp_path / "ids.xlsx"
    frame = pd.DataFrame({"CONS_NO": ["000123", "000124"], "FLAG": [0, 1]})
    frame[pd.Timestamp("2014-01-01")] = [1.5, 2.0]
    frame.to_excel(path, index=False)
    data = read_dataset(path)

    assert list(data.customer_ids) == ["000123", "000124"]
    np.testing.assert_allclose(data.kwh[:, 0], [1.5, 2.0])


def test_xlsx_whose_first_sheet_is_not_the_data_names_the_other_sheets(tmp_path):
    path = tmp_path / "book.xlsx"
    frame = pd.DataFrame({"CONS_NO": ["a"], "FLAG": [1], "2014-01-01": [1.0]})
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"notes": ["exported by"]}).to_excel(writer, sheet_name="Info", index=False)
        frame.to_excel(writer, sheet_name="Readings", index=False)

    message = refused(path)
    assert "'Info', 'Readings'" in message
    assert "--sheet" in message
    assert read_dataset(path, sheet="Readings").n_customers == 1


def test_dotted_day_first_headers_without_a_day_above_twelve(tmp_path):
    # German Excel: 01.01.2014 is the first of January, 02.01.2014 the second.
    text = "Kundennr;Betrug;01.01.2014;02.01.2014;03.01.2014\r\nA;0;1,5;2;3\r\n"
    path = write(tmp_path, "de.csv", text, encoding="cp1252")
    data = read_dataset(path, id_column="Kundennr", label_column="Betrug")

    assert data.n_days == 3
    assert str(data.days[-1].date()) == "2014-01-03"
    assert data.source["day_style"] == "day/month/year"


def test_slashed_headers_of_early_days_stay_month_first(tmp_path):
    text = "CONS_NO,FLAG,01/02/2014,01/03/2014\nA,0,1,2\n"
    data = read_dataset(write(tmp_path, "us.csv", text))

    assert [str(d.date()) for d in data.days] == ["2014-01-02", "2014-01-03"]


def test_ids_a_spreadsheet_turned_into_scientific_notation(tmp_path):
    clash = "CONS_NO,FLAG,2014/1/1\n1.23457E+15,0,1\n1.23457E+15,1,2\n"
    assert "formatted as text" in refused(write(tmp_path, "clash.csv", clash))

    distinct = "CONS_NO,FLAG,2014/1/1\n1.23457E+15,0,1\n1.23458E+15,1,2\n"
    data = read_dataset(write(tmp_path, "distinct.csv", distinct))
    assert "ids_scientific" in kinds(data)


def _quarter_hours(customer: str, start: str, days: int) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=96 * days, freq="15min")
    return pd.DataFrame({"meter_id": customer, "timestamp": stamps, "kwh": 0.25})


def test_the_repeated_hour_of_an_autumn_clock_change_is_summed(tmp_path):
    rows = _quarter_hours("m", "2014-10-25", 3)
    again = rows[rows["timestamp"].between("2014-10-26 02:00", "2014-10-26 02:45")].copy()
    again["kwh"] = [0.5, 0.5, 0.25, 0.25]  # two intervals of the hour read the same twice
    path = tmp_path / "dst.csv"
    pd.concat([rows, again]).to_csv(path, index=False)
    data = read_dataset(path)

    np.testing.assert_allclose(data.kwh, [[24, 25.5, 24]])
    assert "clock_change" in kinds(data)


def test_two_readings_for_the_same_quarter_hours_outside_a_clock_change_are_refused(tmp_path):
    rows = _quarter_hours("m", "2014-10-25", 2)
    again = rows[rows["timestamp"].between("2014-10-25 10:00", "2014-10-25 10:45")].copy()
    again["kwh"] = 9.0
    path = tmp_path / "clash.csv"
    pd.concat([rows, again]).to_csv(path, index=False)

    assert "two different readings" in refused(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission(tmp_path):
    path = write(tmp_path, "locked.csv", "CONS_NO,2014-01-01\nA,1\n")
    path.chmod(0)
    try:
        assert "no permission" in refused(path)
    finally:
        path.chmod(0o644)


def test_a_windows_latin_export_with_umlauts_is_not_read_as_chinese(tmp_path):
    text = "Zählernummer;FLAG;2014-01-01\r\nMüller-1;0;1,5\r\nGrün-2;1;2\r\n"
    path = write(tmp_path, "de.csv", text, encoding="cp1252")
    data = read_dataset(path, id_column="Zählernummer")

    assert data.source["encoding"] == "latin-1"
    assert list(data.customer_ids) == ["Müller-1", "Grün-2"]


def test_long_rows_without_a_time_are_skipped_with_a_note_or_refused_if_all(tmp_path):
    text = "meter_id,timestamp,kwh\nm1,,1\nm1,2014-01-01,2\nm1,2014-01-02,3\n"
    data = read_dataset(write(tmp_path, "some.csv", text))
    np.testing.assert_allclose(data.kwh, [[2, 3]])
    note = data.notes[kinds(data).index("rows_without_time")]
    assert note.count == 1 and note.examples == ["row 2"]

    message = refused(write(tmp_path, "none.csv", "meter_id,timestamp,kwh\nm1,,1\n"))
    assert "no row has a time in column 'timestamp'" in message


def test_a_labels_file_that_is_a_workbook_or_a_folder_is_refused(tmp_path):
    data = write(tmp_path, "data.csv", "CONS_NO,2014-01-01\nA,1\n")
    book = tmp_path / "labels.xlsx"
    pd.DataFrame({"customer": ["A"], "label": [1]}).to_excel(book, index=False)

    with pytest.raises(DataFileError, match="labels.xlsx: a labels file must be a CSV or TSV"):
        read_dataset(data, labels_path=book)
    with pytest.raises(DataFileError, match="a folder, not a labels file"):
        read_dataset(data, labels_path=tmp_path)


def test_a_dash_is_a_missing_reading_but_never_an_unknown_label(tmp_path):
    ok = read_dataset(write(tmp_path, "ok.csv", "CONS_NO,FLAG,2014/1/1,2014/1/2\nA,0,-,2\n"))
    assert np.isnan(ok.kwh[0, 0]) and ok.kwh[0, 1] == 2

    message = refused(write(tmp_path, "bad.csv", "CONS_NO,FLAG,2014/1/1\nA,-,1\nB,1,2\n"))
    assert "row 2 (customer A): '-'" in message
