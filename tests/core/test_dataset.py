import numpy as np
import pandas as pd
import pytest

from core.dataset import UNKNOWN, ConsumptionData


def _small():
    days = pd.date_range("2014-01-01", periods=4, freq="D")
    kwh = np.array([[1, np.nan, 0, 2], [3, 4, 5, np.nan]], dtype=np.float64)
    return ConsumptionData(["a", "b"], days, kwh, [1, UNKNOWN])


def test_summary_counts_classes_missing_and_zero_cells():
    s = _small().summary()
    assert s["customers"] == 2 and s["days"] == 4
    assert s["first_day"] == "2014-01-01" and s["last_day"] == "2014-01-04"
    assert (s["theft"], s["normal"], s["unlabelled"]) == (1, 0, 1)
    assert s["missing_fraction"] == pytest.approx(2 / 8)
    assert s["zero_fraction"] == pytest.approx(1 / 8)


def test_matrix_is_float32_and_subset_copies():
    data = _small()
    assert data.kwh.dtype == np.float32
    sub = data.subset([1])
    sub.kwh[0, 0] = 99
    assert data.kwh[1, 0] == 3
    assert list(sub.customer_ids) == ["b"]


def test_a_calendar_with_a_hole_is_refused():
    days = pd.DatetimeIndex(["2014-01-01", "2014-01-03"])
    with pytest.raises(ValueError, match="complete daily calendar"):
        ConsumptionData(["a"], days, np.zeros((1, 2)))


def test_duplicate_ids_and_bad_labels_are_refused():
    days = pd.date_range("2014-01-01", periods=2)
    with pytest.raises(ValueError, match="unique"):
        ConsumptionData(["a", "a"], days, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="labels"):
        ConsumptionData(["a"], days, np.zeros((1, 2)), [2])
