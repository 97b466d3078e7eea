"""Long files (one row per customer and timestamp) are summed to daily kWh."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.dataset import UNKNOWN
from core.errors import DataFileError
from core.io import preview, read_dataset


def interval_frame(minutes: int, days: int = 3, customers=("M1", "M2")) -> pd.DataFrame:
    stamps = pd.date_range("2015-06-01", periods=days * 24 * 60 // minutes, freq=f"{minutes}min")
    parts = []
    for k, customer in enumerate(customers):
        parts.append(
            pd.DataFrame({"meter_id": customer, "timestamp": stamps, "kwh": 0.25 * (k + 1)})
        )
    return pd.concat(parts, ignore_index=True)


def save_csv(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M")
    return path


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_interval_readings_are_summed_to_days(tmp_path, minutes):
    frame = interval_frame(minutes)
    data = read_dataset(save_csv(frame, tmp_path / "long.csv"))

    per_day = 24 * 60 // minutes
    assert data.source["layout"] == "long"
    assert data.source["interval_minutes"] == minutes
    assert data.source["readings_per_day"] == per_day
    assert list(data.customer_ids) == ["M1", "M2"]
    assert list(data.days) == list(pd.date_range("2015-06-01", periods=3))
    np.testing.assert_allclose(data.kwh[0], 0.25 * per_day)
    np.testing.assert_allclose(data.kwh[1], 0.5 * per_day)


def test_a_day_with_too_few_intervals_is_missing_not_low(tmp_path):
    frame = interval_frame(30)
    day2 = frame["timestamp"].dt.date == pd.Timestamp("2015-06-02").date()
    m1 = frame["meter_id"] == "M1"
    # M1 loses 10 of 48 half-hours on 2 June (79% left: missing); M2 loses 2 (96% left: kept).
    drop_m1 = frame.index[m1 & day2][:10]
    drop_m2 = frame.index[~m1 & day2][:2]
    frame = frame.drop(drop_m1.union(drop_m2))
    data = read_dataset(save_csv(frame, tmp_path / "gaps.csv"))

    assert np.isnan(data.kwh[0, 1])
    assert data.kwh[0, 0] == pytest.approx(12.0)
    assert data.kwh[1, 1] == pytest.approx(0.5 * 46)
    notes = {n.kind: n for n in data.notes}
    assert notes["days_incomplete"].count == 1
    assert notes["days_incomplete"].examples == ["customer M1, 2015-06-02: 38 of 48 readings"]
    assert notes["days_partial"].count == 1
    assert "customer M2, 2015-06-02: 46 of 48 readings" in notes["days_partial"].examples


def test_daily_long_file_with_labels_in_a_second_file(tmp_path):
    text = (
        "customer,date,consumption\n"
        "a,2014-01-01,1.5\n"
        "a,2014-01-02,2.5\n"
        "b,2014-01-01,3\n"
        "b,2014-01-03,4\n"
        "c,2014-01-02,5\n"
    )
    path = tmp_path / "daily.csv"
    path.write_text(text)
    labels = tmp_path / "labels.csv"
    labels.write_text("customer,label\na,1\nb,0\nz,1\n")

    data = read_dataset(path, labels_path=labels)

    assert data.source["interval_minutes"] == 24 * 60
    assert list(data.customer_ids) == ["a", "b", "c"]
    np.testing.assert_allclose(
        data.kwh, [[1.5, 2.5, np.nan], [3, np.nan, 4], [np.nan, 5, np.nan]], equal_nan=True
    )
    assert list(data.labels) == [1, 0, UNKNOWN]
    notes = {n.kind: n for n in data.notes}
    assert notes["labels_missing"].examples == ["c"]
    assert notes["labels_unused"].examples == ["z"]
    assert not any(n.kind == "days_incomplete" for n in data.notes)


def test_long_file_with_a_label_column_and_month_first_times(tmp_path):
    text = (
        "meter_id,time,kwh,flag\n"
        "x,1/13/2014 00:00,2,1\n"
        "x,1/14/2014 00:00,3,1\n"
        "y,1/13/2014 00:00,4,0\n"
    )
    path = tmp_path / "mdy.csv"
    path.write_text(text)
    data = read_dataset(path)

    assert data.days[0] == pd.Timestamp("2014-01-13")
    assert list(data.labels) == [1, 0]


def test_long_parquet_file(tmp_path):
    frame = interval_frame(15, days=2)
    path = tmp_path / "long.parquet"
    frame.to_parquet(path)
    data = read_dataset(path)

    assert data.source["format"] == "parquet"
    np.testing.assert_allclose(data.kwh, [[24, 24], [48, 48]])


def test_two_different_readings_for_one_timestamp_are_refused(tmp_path):
    text = "meter_id,timestamp,kwh\nm,2014-01-01 00:00,1\nm,2014-01-01 00:00,2\n"
    path = tmp_path / "clash.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=r"customer m has 1 timestamp.*2014-01-01"):
        read_dataset(path)


def test_unreadable_timestamps_are_named(tmp_path):
    text = "meter_id,timestamp,kwh\nm,2014-01-01 00:00,1\nm,yesterday,2\n"
    path = tmp_path / "badtime.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=r"column 'timestamp'.*row 3: 'yesterday'"):
        read_dataset(path)


def test_preview_of_a_long_file(tmp_path):
    path = save_csv(interval_frame(30), tmp_path / "long.csv")
    look = preview(path)

    assert look.layout == "long"
    assert look.id_column == "meter_id"
    assert look.first_day == "2015-06-01"
    assert look.n_customers >= 1
