"""Validation rules and messages, one mapping and a frame (vectorised), which must agree."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mlcore.validation import FinancialsValidationError, validate_financials, validate_financials_frame


def _details(data):
    with pytest.raises(FinancialsValidationError) as info:
        validate_financials(data)
    return info.value.details


def test_valid_statement_is_cleaned(typical):
    clean = validate_financials({**typical, "market_value": None, "revenue": 10})
    assert clean["market_value"] is None
    assert clean["revenue"] == 10.0 and isinstance(clean["revenue"], float)
    assert len(clean) == 17


def test_missing_required_and_unknown_fields(typical):
    del typical["total_assets"]
    details = _details({**typical, "cash": 3.0})
    assert details == {"total_assets": ["This field is required."], "cash": ["Unknown field."]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("revenue", True, "Must be a number, not a boolean."),
        ("revenue", "12.5", "Must be a number, not a string."),
        ("revenue", [1], "Must be a number."),
        ("ebit", float("nan"), "Must be a finite number."),
        ("ebit", float("inf"), "Must be a finite number."),
        ("net_income", 1e9, "Must be between -1e+09 and 1e+09 (amounts are in millions of USD)."),
        ("net_income", -1e9, "Must be between -1e+09 and 1e+09 (amounts are in millions of USD)."),
        ("total_assets", 0, "Must be greater than 0."),
        ("inventory", -1, "Must be greater than or equal to 0."),
        ("market_value", -0.5, "Must be greater than or equal to 0."),
        ("revenue", None, "This field is required and may not be null."),
    ],
)
def test_messages(typical, field, value, message):
    assert _details({**typical, field: value}) == {field: [message]}


def test_income_items_may_be_negative(typical):
    validate_financials({**typical, "net_income": -50, "ebit": -20, "retained_earnings": -400, "gross_profit": -1})


def test_not_a_mapping():
    assert "non_field_errors" in _details([1, 2])


def test_frame_matches_mapping_rules(typical):
    rows = [
        typical,
        {**typical, "total_assets": 0},
        {**typical, "revenue": "abc"},
        {**typical, "inventory": -1},
        {**typical, "ebit": np.inf},
        {**typical, "market_value": None},
        {**typical, "revenue": None},
    ]
    frame = pd.DataFrame(rows)
    valid, errors = validate_financials_frame(frame)
    assert valid.tolist() == [True, False, False, False, False, True, False]
    assert errors == [
        (1, "total_assets", "Must be greater than 0."),
        (2, "revenue", "Must be a number."),
        (3, "inventory", "Must be greater than or equal to 0."),
        (4, "ebit", "Must be a finite number."),
        (6, "revenue", "This field is required."),
    ]


def test_frame_of_csv_text(typical):
    frame = pd.DataFrame(
        [
            {k: str(v) for k, v in typical.items()},
            {**{k: str(v) for k, v in typical.items()}, "market_value": "", "ebit": " 1e400 "},
        ]
    )
    valid, errors = validate_financials_frame(frame)
    assert valid.tolist() == [True, False]
    assert errors == [(1, "ebit", "Must be a finite number.")]


def test_frame_missing_required_column(typical):
    with pytest.raises(FinancialsValidationError) as info:
        validate_financials_frame(pd.DataFrame([typical]).drop(columns=["ebit"]))
    assert info.value.details == {"ebit": ["Required column is missing."]}


def test_frame_validation_is_fast(real_rows):
    frame = pd.concat([real_rows] * 12, ignore_index=True)  # ~124k rows
    started = time.perf_counter()
    valid, _ = validate_financials_frame(frame)
    assert time.perf_counter() - started < 2.0
    assert valid.mean() > 0.99
