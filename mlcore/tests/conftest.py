"""Fixtures of the mlcore tests (no database): a typical company and real rows of the shipped data set."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd
import pytest

from mlcore.training import DEFAULT_DATA_PATH

TYPICAL: dict[str, Any] = {
    "revenue": 1024.3,
    "cost_of_goods_sold": 833.1,
    "gross_profit": 191.2,
    "operating_expenses": 935.3,
    "ebitda": 89.0,
    "depreciation_amortization": 18.4,
    "ebit": 70.6,
    "net_income": 35.2,
    "current_assets": 511.3,
    "inventory": 336.0,
    "receivables": 128.3,
    "total_assets": 741.0,
    "current_liabilities": 163.8,
    "long_term_debt": 180.4,
    "total_liabilities": 401.5,
    "retained_earnings": 201.0,
    "market_value": 372.8,
}  # the example of API.md


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
