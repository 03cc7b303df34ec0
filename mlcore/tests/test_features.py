"""Feature derivation policy: identities, imputation, zero denominators, clipping, batch == single."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore.features import FEATURE_NAMES, FEATURES, derive_ratios, ratios_for
from mlcore.fields import FINANCIAL_FIELDS, OPTIONAL_FIELDS


def test_altman_ratios_of_the_api_example(typical):
    r = ratios_for(typical)
    assert r["working_capital_to_total_assets"] == pytest.approx((511.3 - 163.8) / 741.0)
    assert r["retained_earnings_to_total_assets"] == pytest.approx(201.0 / 741.0)
    assert r["ebit_to_total_assets"] == pytest.approx(70.6 / 741.0)
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
