"""Annualization: x4 without history, trailing twelve months with the three previous quarters."""

from __future__ import annotations

import pandas as pd
import pytest

from mlcore.annualize import annualize_frame, annualize_quarter
from mlcore.fields import BALANCE_FIELDS, FLOW_FIELDS


def _quarter(i: float) -> dict:
    return {
        "revenue": 100 + i,
        "cost_of_goods_sold": 60 + i,
        "ebit": 10 + i,
        "net_income": 5 + i,
        "ebitda": 12 + i,
        "current_assets": 50 + i,
        "total_assets": 200 + i,
        "current_liabilities": 30,
        "long_term_debt": 40,
        "total_liabilities": 90 + i,
        "retained_earnings": 20,
        "market_value": 150 + i,
    }


def test_x4_without_history():
    annual, basis = annualize_quarter(_quarter(0))
    assert basis == "x4"
    assert annual["revenue"] == 400 and annual["net_income"] == 20 and annual["ebitda"] == 48
    assert annual["total_assets"] == 200 and annual["market_value"] == 150  # balances untouched
    assert annual["gross_profit"] is None  # missing stays missing


def test_ttm_sums_four_quarters_and_keeps_current_balances():
    annual, basis = annualize_quarter(_quarter(3), [_quarter(0), _quarter(1), _quarter(2)])
    assert basis == "ttm"
    assert annual["revenue"] == 100 * 4 + 6
    assert annual["ebit"] == 10 * 4 + 6
    assert annual["total_assets"] == 203 and annual["total_liabilities"] == 93


def test_ttm_optional_flow_missing_in_a_previous_quarter_stays_missing():
    previous = [_quarter(0), {**_quarter(1), "ebitda": None}, _quarter(2)]
    annual, _ = annualize_quarter(_quarter(3), previous)
    assert annual["ebitda"] is None
    assert annual["revenue"] == 406


def test_wrong_number_of_previous_quarters():
    with pytest.raises(ValueError):
        annualize_quarter(_quarter(0), [_quarter(1)])


def test_flow_and_balance_fields_partition_the_statement():
    assert set(FLOW_FIELDS).isdisjoint(BALANCE_FIELDS)
    assert len(FLOW_FIELDS) + len(BALANCE_FIELDS) == 17


def test_frame_matches_single_and_needs_consecutive_quarters():
    rows = []
    for i, (year, q) in enumerate([(2023, "Q1"), (2023, "Q2"), (2023, "Q3"), (2023, "Q4"), (2024, 1), (2024, "Q3")]):
        rows.append({"symbol": "acme", "reporting_year": year, "reporting_quarter": q, **_quarter(i)})
    rows.append({"symbol": "OTHER", "reporting_year": 2024, "reporting_quarter": "Q1", **_quarter(9)})
    frame = pd.DataFrame(rows).iloc[::-1]  # order must not matter
    annual, basis = annualize_frame(frame)
    by_pos = dict(zip(frame.index, basis, strict=True))
    assert [by_pos[i] for i in range(7)] == ["x4", "x4", "x4", "ttm", "ttm", "x4", "x4"]  # 2024Q3 lacks Q2
    expected, _ = annualize_quarter(_quarter(4), [_quarter(1), _quarter(2), _quarter(3)])
    for field in FLOW_FIELDS + BALANCE_FIELDS:
        value = annual.loc[4, field]
        assert (pd.isna(value) and expected[field] is None) or value == pytest.approx(expected[field])
    assert annual.loc[5, "revenue"] == 4 * 105
