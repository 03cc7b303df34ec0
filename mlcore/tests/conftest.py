"""Fixtures of the mlcore tests (no database): a typical company and real rows of the shipped data set."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd
import pytest

from mlcore.fields import EXAMPLE_FINANCIALS
from mlcore.training import DEFAULT_DATA_PATH

TYPICAL: dict[str, Any] = EXAMPLE_FINANCIALS  # the example of API.md


@pytest.fixture
def typical() -> dict[str, Any]:
    return dict(TYPICAL)


@lru_cache(maxsize=1)
def _data() -> pd.DataFrame:
    return pd.read_csv(DEFAULT_DATA_PATH)


@pytest.fixture
def real_rows() -> pd.DataFrame:
    """The 2012-2014 rows of the shipped data set (validation window)."""
    data = _data()
    return data[data["fiscal_year"] >= 2012].reset_index(drop=True)
