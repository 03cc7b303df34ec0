"""Feature derivation policy: identities, imputation, zero denominators, clipping, batch == single."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.features import (
    FEATURE_NAMES,
    FEATURES,
    _ArrayOps,
    _FloatOps,
    derive_features,
    derive_ratios,
    feature_row,
    feature_values,
    ratios_for,
)
from mlcore.fields import FINANCIAL_FIELDS, OPTIONAL_FIELDS

from .conftest import _data


def test_altman_ratios_of_the_api_example(typical):
    r = ratios_for(typical)
    assert r["working_capital_to_total_assets"] == pytest.approx((511.3 - 163.8) / 741.0)
    assert r["retained_earnings_to_total_assets"] == pytest.approx(201.0 / 741.0)
    assert r["ebit_to_total_assets"] == pytest.approx(70.7 / 741.0)
    assert r["market_value_equity_to_total_liabilities"] == pytest.approx(372.8 / 401.5)
    assert r["revenue_to_total_assets"] == pytest.approx(1024.3 / 741.0)
    assert r["quick_ratio"] == pytest.approx((511.3 - 336.0) / 163.8)
    assert r["log_total_assets"] == pytest.approx(np.log1p(741.0))
    assert r["market_value_missing"] == 0.0
    assert set(r) == set(FEATURE_NAMES)


def test_zero_denominators_give_finite_clipped_values(typical):
    typical.update(current_liabilities=0.0, revenue=0.0, total_liabilities=0.0, long_term_debt=0.0)
    r = ratios_for(typical)
    assert all(v is not None and np.isfinite(v) for v in r.values())
    assert r["current_ratio"] == 100.0  # no current liabilities: saturated at the upper bound
    assert r["net_margin"] == 1.0  # profit on no revenue: clipped


def test_missing_optionals_use_identities_then_typical_proportions(typical):
    full = ratios_for(typical)
    no_gp = ratios_for({**typical, "gross_profit": None})
    assert no_gp["gross_margin"] == pytest.approx(full["gross_margin"])  # revenue - cogs
    no_ebitda = ratios_for({**typical, "ebitda": None})
    assert no_ebitda["ebitda_to_total_assets"] == pytest.approx(full["ebitda_to_total_assets"], rel=1e-3)
    bare = {k: v for k, v in typical.items() if k not in OPTIONAL_FIELDS}
    r = ratios_for(bare)
    assert all(v is not None and np.isfinite(v) for v in r.values())
    assert r["market_value_missing"] == 1.0
    assert r["gross_margin"] == pytest.approx(0.35)
    # market value imputed from book equity: 2 x (741.0 - 401.5)
    assert r["market_value_to_total_assets"] == pytest.approx(2 * (741.0 - 401.5) / 741.0)


def test_absent_and_null_optionals_are_the_same(typical):
    without = {k: v for k, v in typical.items() if k != "inventory"}
    assert ratios_for(without) == ratios_for({**typical, "inventory": None})


def test_extreme_values_are_clipped(typical):
    typical.update(total_assets=0.001, net_income=-9e8, retained_earnings=-9e8)
    r = ratios_for(typical)
    bounds = {f.name: (f.lower, f.upper) for f in FEATURES}
    for name, value in r.items():
        assert bounds[name][0] <= value <= bounds[name][1], name
    assert r["return_on_assets"] == -10.0


amount = st.floats(min_value=0, max_value=1e6, allow_nan=False)
signed = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "revenue": amount,
                "ebit": signed,
                "net_income": signed,
                "current_assets": amount,
                "total_assets": st.floats(min_value=0.001, max_value=1e6),
                "current_liabilities": amount,
                "long_term_debt": amount,
                "total_liabilities": amount,
                "retained_earnings": signed,
                "market_value": st.one_of(st.none(), amount),
                "inventory": st.one_of(st.none(), amount),
                "ebitda": st.one_of(st.none(), signed),
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_vectorised_equals_single(rows):
    frame = pd.DataFrame(rows).reindex(columns=list(FINANCIAL_FIELDS)).astype(float)
    batch = derive_ratios(frame)
    assert not batch.isna().any().any()
    for i, row in enumerate(rows):
        single = ratios_for(row)
        np.testing.assert_allclose(batch.iloc[i].to_numpy(), [single[n] for n in FEATURE_NAMES], rtol=1e-12)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal (so 0.0 differs from -0.0), NaN counting as equal to NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all() and (a[~nan].view(np.int64) == b[~nan].view(np.int64)).all())


def test_single_row_equals_vectorised_bitwise_on_real_and_edge_rows():
    """``feature_values`` (floats, one company) gives bitwise the rows of ``derive_features`` (numpy, batch)."""

    rng = np.random.default_rng(0)
    real = _data().sample(3000, random_state=0)[list(FINANCIAL_FIELDS)].reset_index(drop=True)
    variants = [real]
    for _ in range(3):  # optional items missing at random, as private firms and sparse statements send them
        v = real.copy()
        for f in OPTIONAL_FIELDS:
            v.loc[rng.random(len(v)) < 0.4, f] = np.nan
        variants.append(v)
    zeros = real.copy()  # zero (and negative-zero) denominators and numerators
    for f in ("current_liabilities", "revenue", "total_liabilities", "long_term_debt", "current_assets", "ebit"):
        zeros.loc[rng.random(len(zeros)) < 0.3, f] = 0.0
        zeros.loc[rng.random(len(zeros)) < 0.05, f] = -0.0
    zeros.loc[rng.random(len(zeros)) < 0.1, "total_assets"] = 0.001
    zeros.loc[rng.random(len(zeros)) < 0.05, "market_value"] = 0.0
    variants.append(zeros)
    extreme = real.copy()  # saturating and negative amounts (validation would reject some; features must agree)
    extreme.loc[rng.random(len(extreme)) < 0.2, "net_income"] = -9e8
    extreme.loc[rng.random(len(extreme)) < 0.2, "operating_expenses"] = -5.0
    extreme.loc[rng.random(len(extreme)) < 0.1, "total_assets"] = np.nan  # a required item missing: NaN rows
    variants.append(extreme)
    frame = pd.concat(variants, ignore_index=True)
    batch = derive_features({f: frame[f].to_numpy() for f in FINANCIAL_FIELDS})
    records = frame.to_dict("records")
    single = np.array(
        [feature_values({k: (None if v != v else v) for k, v in r.items()}) for r in records], dtype=float
    )
    assert batch.shape == single.shape == (len(frame), len(FEATURE_NAMES))
    assert np.isnan(batch).any()  # the NaN rows are exercised
    assert _same_bits(batch, single)
    # absent keys and None are the same; ratios_for and feature_row are views of the same floats
    assert feature_values({k: v for k, v in records[0].items() if k not in OPTIONAL_FIELDS}) == feature_values(
        {**records[0], **dict.fromkeys(OPTIONAL_FIELDS)}
    )
    assert _same_bits(feature_row(records[1])[0], single[1])


@pytest.mark.parametrize("op", ["maximum", "clip", "fill", "indicator_missing", "log1p"])
def test_float_ops_reproduce_numpy_semantics(op):
    """NaN propagation, signed zeros and bounds of the scalar operations are numpy's, on every special value."""
    special = [np.nan, -0.0, 0.0, 1e-3, -1e-3, 0.5, 1.0, -1.0, -10.0, 20.0, 1e300, -np.inf, np.inf]
    for a in special:
        for b in special:
            if op == "maximum":
                expected, got = np.maximum(np.array([a, a, a]), b)[0], _FloatOps.maximum(a, b)
            elif op == "fill":
                expected, got = _ArrayOps.fill(np.array([a]), np.array([b]))[0], _FloatOps.fill(a, b)
            elif op == "clip":
                lower, upper = sorted((b, 1.0)) if b == b else (0.0, 1.0)
                expected = np.clip(np.array([[a, a]]), np.array([lower, lower]), np.array([upper, upper]))[0, 0]
                got = _FloatOps.clip(a, lower, upper)
            elif op == "indicator_missing":
                expected, got = _ArrayOps.indicator_missing(np.array([a]))[0], _FloatOps.indicator_missing(a)
            else:
                if a < -1:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    expected, got = np.log1p(np.array([a]))[0], _FloatOps.log1p(a)
            assert type(got) is float
            assert _same_bits([expected], [got]), (op, a, b, expected, got)
