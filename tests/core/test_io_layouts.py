"""Wide files in every layout seen in the field read to the same data set."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from core.dataset import THEFT, UNKNOWN
from core.errors import DataFileError
from core.io import preview, read_dataset, write_wide_csv
from core.tasks import Cancelled, TaskState

DAYS = pd.date_range("2014-01-01", periods=12, freq="D")
IDS = ["A1", "B2", "C3"]
FLAGS = [1, 0, 0]
# Reading of customer i on day j is 10*i + j + 0.5: every cell tells where it came from.
KWH = np.array([[10 * i + j + 0.5 for j in range(len(DAYS))] for i in range(len(IDS))])


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def wide_text(headers, *, sep=",", decimal=".", id_name="CONS_NO", flag_name="FLAG", last=False):
    """The test data as text, day columns in the order of ``headers`` (dates -> names)."""
    order = list(headers)
    head = [id_name, flag_name] if not last else []
    names = [headers[d] for d in order]
    lines = [sep.join(head + names + ([id_name, flag_name] if last else []))]
    for i, customer in enumerate(IDS):
        cells = [f"{KWH[i, DAYS.get_loc(d)]:g}".replace(".", decimal) for d in order]
        ident = [customer, str(FLAGS[i])]
        lines.append(sep.join((ident if not last else []) + cells + (ident if last else [])))
    return "\n".join(lines) + "\n"


def assert_is_test_data(data):
    assert list(data.customer_ids) == IDS
    assert list(data.days) == list(DAYS)
    np.testing.assert_allclose(data.kwh, KWH)
    assert list(data.labels) == FLAGS


def sgcc_names():
    return {d: f"{d.year}/{d.month}/{d.day}" for d in DAYS}


def test_string_sorted_sgcc_headers_are_put_in_date_order(tmp_path):
    names = sgcc_names()
    string_order = sorted(DAYS, key=lambda d: names[d])  # 2014/1/1, 2014/1/10, 2014/1/11, 2014/1/2
    assert names[string_order[1]] == "2014/1/10"
    data = read_dataset(
        write(tmp_path, "sgcc.csv", wide_text(dict((d, names[d]) for d in string_order)))
    )

    assert_is_test_data(data)
    # 2014/1/10 is the tenth of January, never the first of October.
    assert data.kwh[0, 9] == pytest.approx(9.5)
    assert data.source["day_style"] == "year/month/day"


def test_id_and_label_last_with_month_first_mixed_padding(tmp_path):
    names = {
        d: (f"{d.month:02d}/{d.day:02d}/{d.year}" if d.day < 10 else f"{d.month}/{d.day}/{d.year}")
        for d in DAYS
    }
    data = read_dataset(write(tmp_path, "kaggle.csv", wide_text(names, last=True)))

    assert_is_test_data(data)
    assert data.source["day_style"] == "month/day/year"


def test_iso_headers_with_a_time_of_day(tmp_path):
    names = {d: f"{d.date().isoformat()} 00:00:00" for d in DAYS}
    assert_is_test_data(read_dataset(write(tmp_path, "iso.csv", wide_text(names))))


def test_day_first_headers_are_recognised_from_a_day_above_twelve(tmp_path):
    days = pd.date_range("2014-01-08", periods=8)
    names = {d: f"{d.day:02d}/{d.month:02d}/{d.year}" for d in days}
    text = "id," + ",".join(names.values()) + "\nX," + ",".join(str(i) for i in range(8)) + "\n"
    data = read_dataset(write(tmp_path, "dmy.csv", text))

    assert data.days[0] == pd.Timestamp("2014-01-08")
    assert data.days[-1] == pd.Timestamp("2014-01-15")
    assert data.source["day_style"] == "day/month/year"


def test_headers_that_need_both_day_first_and_month_first_are_refused(tmp_path):
    text = "id,13/01/2014,01/14/2014\nX,1,2\n"
    with pytest.raises(DataFileError, match=r"'13/01/2014'.*'01/14/2014'"):
        read_dataset(write(tmp_path, "mixed.csv", text))


@pytest.mark.parametrize(
    ("sep", "decimal", "name"),
    [(";", ",", "semicolon.csv"), ("\t", ".", "tabs.tsv"), ("\t", ",", "tabs_comma.txt")],
)
def test_separator_and_decimal_mark_are_sniffed(tmp_path, sep, decimal, name):
    names = {d: d.date().isoformat() for d in DAYS}
    data = read_dataset(write(tmp_path, name, wide_text(names, sep=sep, decimal=decimal)))

    assert_is_test_data(data)
    assert data.source["delimiter"] == sep
    assert data.source["decimal"] == decimal


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_encodings_with_chinese_column_names(tmp_path, encoding, reported):
    names = {d: d.date().isoformat() for d in DAYS}
    text = wide_text(names, id_name="用户编号", flag_name="标签")
    data = read_dataset(write(tmp_path, "cn.csv", text, encoding=encoding))

    assert_is_test_data(data)
    assert data.source["encoding"] == reported
    assert data.source["id_column"] == "用户编号"
    assert data.source["label_column"] == "标签"


@pytest.mark.parametrize(
    ("id_name", "flag_name"),
    [("Customer_ID", "Label"), ("meter_id", "THEFT"), ("customer", "class"), ("ID", "flag")],
)
def test_common_id_and_label_names_in_any_case(tmp_path, id_name, flag_name):
    names = {d: d.date().isoformat() for d in DAYS}
    data = read_dataset(
        write(tmp_path, "named.csv", wide_text(names, id_name=id_name, flag_name=flag_name))
    )

    assert_is_test_data(data)
    assert data.source["id_column"] == id_name


def test_other_names_are_used_when_the_user_names_them(tmp_path):
    names = {d: d.date().isoformat() for d in DAYS}
    path = write(tmp_path, "odd.csv", wide_text(names, id_name="Zählpunkt", flag_name="Betrug"))
    data = read_dataset(path, id_column="Zählpunkt", label_column="Betrug")

    assert_is_test_data(data)


def test_unlabelled_file_is_valid_and_says_so(tmp_path):
    text = "CONS_NO,2014-01-01,2014-01-02\nA,1,2\nB,3,\n"
    data = read_dataset(write(tmp_path, "nolabels.csv", text))

    assert list(data.labels) == [UNKNOWN, UNKNOWN]
    assert data.unlabelled_count == 2
    assert np.isnan(data.kwh[1, 1])
    assert any(n.kind == "unlabelled" for n in data.notes)


def test_empty_label_cells_mean_not_inspected(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\nA,1,1\nB,,2\nC,0,3\n"
    data = read_dataset(write(tmp_path, "partial.csv", text))

    assert list(data.labels) == [THEFT, UNKNOWN, 0]


def test_ids_keep_leading_zeros(tmp_path):
    text = "CONS_NO,FLAG,2014-01-01\n00123,0,1\n0456,1,2\n"
    data = read_dataset(write(tmp_path, "zeros.csv", text))

    assert list(data.customer_ids) == ["00123", "0456"]


def test_extra_columns_are_ignored_and_named(tmp_path):
    text = "CONS_NO,region,FLAG,2014-01-01,2014-01-02\nA,north,1,1,2\n"
    data = read_dataset(write(tmp_path, "extra.csv", text))

    note = next(n for n in data.notes if n.kind == "columns_ignored")
    assert note.examples == ["region"]
    np.testing.assert_allclose(data.kwh, [[1, 2]])


def test_xlsx_with_real_date_cells_as_headers(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "readings"
    sheet.append(["CONS_NO", "FLAG"] + [d.to_pydatetime() for d in DAYS])
    for i, customer in enumerate(IDS):
        sheet.append([customer, FLAGS[i]] + [float(v) for v in KWH[i]])
    other = book.create_sheet("small")
    other.append(["meter_id", "2014-03-01", "2014-03-02"])
    other.append([12345, 1.5, "abc"])
    path = tmp_path / "book.xlsx"
    book.save(path)

    data = read_dataset(path)
    assert_is_test_data(data)
    assert data.source["format"] == "xlsx"
    assert data.source["sheet"] == "readings"
    assert data.source["encoding"] is None

    small = read_dataset(path, sheet="small")
    assert list(small.customer_ids) == ["12345"]  # not "12345.0"
    assert small.kwh[0, 0] == 1.5 and np.isnan(small.kwh[0, 1])
    note = next(n for n in small.notes if n.kind == "cells_coerced")
    assert note.examples == ["row 2, column 2014-03-02: 'abc'"]

    with pytest.raises(DataFileError, match=r"no worksheet 'missing'.*'readings', 'small'"):
        read_dataset(path, sheet="missing")


def test_parquet_wide_file(tmp_path):
    frame = pd.DataFrame(KWH.astype(np.float32), columns=[d.date().isoformat() for d in DAYS])
    frame.insert(0, "FLAG", FLAGS)
    frame.insert(0, "CONS_NO", IDS)
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)

    data = read_dataset(path)
    assert_is_test_data(data)
    assert data.source["format"] == "parquet"
    assert len(data.source["sha256"]) == 64


@pytest.mark.parametrize("style", ["sgcc", "iso"])
def test_written_csv_reads_back_the_same(tmp_path, style):
    names = {d: d.date().isoformat() for d in DAYS}
    original = read_dataset(write(tmp_path, "in.csv", wide_text(names)))
    original.kwh[1, 3] = np.nan
    original.labels[2] = UNKNOWN

    out = write_wide_csv(original, tmp_path / "out.csv", header_style=style)
    header = out.read_text().splitlines()[0].split(",")
    again = read_dataset(out)

    assert header[:2] == ["CONS_NO", "FLAG"]
    if style == "sgcc":
        assert header[2:5] == ["2014/1/1", "2014/1/10", "2014/1/11"]
    else:
        assert header[2:4] == ["2014-01-01", "2014-01-02"]
    assert list(again.customer_ids) == IDS
    assert list(again.labels) == [1, 0, UNKNOWN]
    # Every float32 reading comes back bit for bit.
    np.testing.assert_array_equal(again.kwh, original.kwh)


def test_progress_is_reported_per_chunk_and_cancel_stops_the_read(tmp_path, monkeypatch):
    import core.io.wide as wide

    monkeypatch.setattr(wide, "CHUNK_BYTES", 200)
    lines = ["CONS_NO,FLAG," + ",".join(d.date().isoformat() for d in DAYS)]
    lines += [f"C{i},0," + ",".join("1.5" for _ in DAYS) for i in range(2000)]
    path = write(tmp_path, "many.csv", "\n".join(lines) + "\n")

    seen = []
    data = read_dataset(path, state=TaskState(on_progress=seen.append))
    assert data.n_customers == 2000
    assert len(seen) > 5
    assert seen == sorted(seen) and seen[-1] == 1.0

    state = TaskState()
    state.set_progress = lambda f: (TaskState.set_progress(state, f), state.cancel())
    with pytest.raises(Cancelled):
        read_dataset(path, state=state)


def test_date_cells_from_python_dates_are_days():
    from core.io.dates import read_day_headers

    found = read_day_headers(["id", dt.date(2015, 3, 1), pd.Timestamp("2015-03-02 00:00")])
    assert found.positions == [1, 2]
    assert found.days == [pd.Timestamp("2015-03-01"), pd.Timestamp("2015-03-02")]


def test_windows_line_ends_and_a_byte_order_mark(tmp_path):
    names = {d: d.date().isoformat() for d in DAYS}
    text = wide_text(names).replace("\n", "\r\n")
    data = read_dataset(write(tmp_path, "excel_export.csv", text, encoding="utf-8-sig"))

    assert_is_test_data(data)
    assert data.source["id_column"] == "CONS_NO"  # not '\ufeffCONS_NO'


def test_preview_reports_the_layout_before_import(tmp_path):
    names = sgcc_names()
    del names[DAYS[4]]
    look = preview(write(tmp_path, "gap.csv", wide_text(names, sep=";", decimal=",")))

    assert look.layout == "wide"
    assert look.format == "csv"
    assert (look.delimiter, look.decimal, look.encoding) == (";", ",", "utf-8")
    assert (look.id_column, look.label_column) == ("CONS_NO", "FLAG")
    assert look.candidate_columns == ["CONS_NO", "FLAG"]
    assert (look.first_day, look.last_day, look.n_days) == ("2014-01-01", "2014-01-12", 12)
    assert look.n_customers == 3
    assert look.warnings == ["1 calendar day(s) are absent and will be added as empty."]


def test_gbk_text_that_starts_after_the_sniffed_sample(tmp_path):
    lines = ["CONS_NO,FLAG,2014-01-01,2014-01-02"]
    lines += [f"C{i:06d},0,1.5,2.5" for i in range(20000)]  # about 480 kB of plain ASCII
    lines.append("用户甲,1,3,4")
    path = write(tmp_path, "late_gbk.csv", "\n".join(lines) + "\n", encoding="gbk")
    data = read_dataset(path)

    assert data.source["encoding"] == "gb18030"
    assert data.customer_ids[-1] == "用户甲"
    assert data.n_customers == 20001


def test_written_ids_with_commas_are_quoted_and_read_back(tmp_path):
    from core.dataset import ConsumptionData

    data = ConsumptionData(["plain", "with,comma"], DAYS[:2], np.array([[0.1, 2], [3, np.nan]]))
    out = write_wide_csv(data, tmp_path / "quoted.csv")
    again = read_dataset(out)

    assert list(again.customer_ids) == ["plain", "with,comma"]
    np.testing.assert_array_equal(again.kwh, data.kwh)
    assert list(again.labels) == [UNKNOWN, UNKNOWN]


def test_preview_of_parquet_and_xlsx_counts_all_rows(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    frame = pd.DataFrame(KWH.astype(np.float32), columns=[d.date().isoformat() for d in DAYS])
    frame.insert(0, "customer_id", IDS)
    frame.to_parquet(tmp_path / "wide.parquet")
    book = openpyxl.Workbook()
    book.active.append(["customer_id"] + [d.to_pydatetime() for d in DAYS])
    for i, customer in enumerate(IDS):
        book.active.append([customer] + [float(v) for v in KWH[i]])
    book.save(tmp_path / "wide.xlsx")

    for name in ("wide.parquet", "wide.xlsx"):
        look = preview(tmp_path / name)
        assert look.format == name.split(".")[1]
        assert (look.n_customers, look.n_days) == (3, 12)
        assert look.id_column == "customer_id"
        assert look.label_column is None
        assert any("unlabelled" in w for w in look.warnings)
