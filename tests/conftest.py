"""Shared fixtures: where the real SGCC slices live, and small data sets made on the spot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SGCC_DIR = Path(os.environ.get("ETD_SGCC_DIR", REPO.parent / "shared" / "data" / "sgcc"))
SGCC_191 = SGCC_DIR / "sgcc_191_customers_1034_days.csv"
SGCC_25863 = SGCC_DIR / "sgcc_25863_customers_26_days.csv"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real SGCC slice not found at {path} (set ETD_SGCC_DIR to its folder)")
    return path


@pytest.fixture
def sgcc_191() -> Path:
    """Real slice: 191 customers x 1,034 day columns, ISO headers, 2016-09-18 absent."""
    return _require(SGCC_191)


@pytest.fixture
def sgcc_25863() -> Path:
    """Real slice: 25,863 customers x 26 days, dates first, mixed M/D/YYYY headers."""
    return _require(SGCC_25863)
