"""Scoring with the shipped models: consistency of components and drivers, monotonicity, spread, quality floor."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import mlcore
from mlcore.api import DRIVER_COUNT
from mlcore.artefacts import get_ensemble, read_model_card
from mlcore.features import FEATURE_NAMES


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_result_shape_and_consistency(typical, kind):
    result = mlcore.score_annual(typical) if kind == "annual" else mlcore.score_quarterly(typical, "x4")
    ensemble = get_ensemble(kind)
    assert 0 < result.probability < 1
    assert result.risk_level == mlcore.risk_level_for(result.probability)
    assert result.rating == mlcore.rating_for(result.probability)
    assert list(result.components) == (
        ["logistic", "lightgbm"] if kind == "annual" else ["logistic", "lightgbm", "balance_sheet_trees"]
    )
    # final log-odds = weighted sum of the components' log-odds (weights sum to 1)
    combined = sum(w * _logit(p) for w, p in zip(ensemble.weights, result.components.values(), strict=True))
    assert combined == pytest.approx(_logit(result.probability), abs=1e-9)
    # drivers: exact decomposition of the calibrated log-odds; top |contribution| first
    contributions, base = ensemble.contributions(np.array([[result.ratios[n] for n in FEATURE_NAMES]]))
    assert base[0] + contributions.sum() == pytest.approx(_logit(result.probability), abs=1e-9)
    assert result.base_log_odds == pytest.approx(base[0])
    assert 3 <= len(result.drivers) == DRIVER_COUNT <= 8
    sizes = [abs(d["contribution"]) for d in result.drivers]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == pytest.approx(np.abs(contributions).max(), abs=1e-6)
    assert result.to_dict()["model_version"] == ensemble.version
    assert mlcore.explain(typical, kind) == result.drivers


def test_invalid_input_raises(typical):
    with pytest.raises(mlcore.FinancialsValidationError):
        mlcore.score_annual({**typical, "total_assets": -1})


def test_frame_matches_single(real_rows):
    rows = real_rows.sample(200, random_state=1).reset_index(drop=True)
    fields = list(mlcore.FINANCIAL_FIELDS)
    scores = mlcore.score_frame(rows[fields], "annual", chunk_size=64)
    for i in (0, 57, 199):
        single = mlcore.score_annual(rows.loc[i, fields].to_dict())
        assert scores.loc[i, "probability"] == pytest.approx(single.probability, rel=1e-9)
        assert scores.loc[i, "component_lightgbm"] == pytest.approx(single.components["lightgbm"], rel=1e-9)
        assert scores.loc[i, "rating"] == single.rating


def test_frame_rows_that_cannot_be_scored_get_no_number(typical):
    frame = pd.DataFrame([typical, {**typical, "total_assets": None}, {**typical, "total_assets": 0}])
    scores = mlcore.score_frame(frame, "annual")
    assert scores["probability"].notna().tolist() == [True, False, False]
    assert scores["risk_level"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_more_leverage_never_lowers_pd(typical, kind):
    score = mlcore.score_annual if kind == "annual" else mlcore.score_quarterly
    previous = 0.0
    for liabilities in np.linspace(200, 900, 15):
        extra = liabilities - typical["total_liabilities"]
        statement = {
            **typical,
            "total_liabilities": liabilities,
            "long_term_debt": max(typical["long_term_debt"] + extra, 0),
        }
        p = score(statement).probability
        assert p >= previous - 1e-12, liabilities
        previous = p


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_larger_losses_never_lower_pd(typical, kind):
    score = mlcore.score_annual if kind == "annual" else mlcore.score_quarterly
    previous = 0.0
    for net_income in np.linspace(100, -300, 17):
        p = score({**typical, "net_income": net_income}).probability
        assert p >= previous - 1e-12, net_income
        previous = p
    previous = 0.0
    for ebit in np.linspace(150, -200, 15):
        p = score({**typical, "ebit": ebit, "ebitda": ebit + 18.4}).probability
        assert p >= previous - 1e-12, ebit
        previous = p


def test_private_firm_is_scored(typical):
    result = mlcore.score_annual({**typical, "market_value": None})
    assert 0 < result.probability < 1
    assert result.ratios["market_value_missing"] == 1.0


def test_real_rows_span_at_least_three_risk_levels(real_rows):
    scores = mlcore.score_frame(real_rows[list(mlcore.FINANCIAL_FIELDS)], "annual")
    assert scores["risk_level"].nunique() >= 3
    assert scores["rating"].nunique() >= 4
    # calibrated: mean PD close to the observed rate on the window the level was set on
    observed = real_rows["default_next_year"].mean()
    assert abs(scores["probability"].mean() / observed - 1) < 0.2


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_quality_floor_in_model_card(kind):
    card = read_model_card(kind)
    v = card["validation"]
    assert card["validation_window"] == [2012, 2014]
    assert v["brier"] < v["brier_base_rate"]
    assert abs(v["mean_pd_to_observed"] - 1) <= 0.2
    assert len(v["reliability_by_decile"]) == 10
    assert "Lombardo" in card["attribution"] and "CC BY 4.0" in card["attribution"]
    if kind == "annual":
        assert v["roc_auc"] >= 0.92
        assert v["pr_auc"] >= 0.20
        assert v["roc_auc"] - v["altman_z_roc_auc"] >= 0.12
    else:
        assert "No public quarterly default data exists" in card["notes"]
        assert v["roc_auc"] >= 0.90


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_single_row_fast_path_is_bitwise_the_batch(real_rows, kind):
    """One company takes LightGBM's fast single-row C API and float arithmetic; the values must not move."""
    ensemble = get_ensemble(kind)
    rows = real_rows.sample(300, random_state=2)[list(mlcore.FINANCIAL_FIELDS)]
    x = mlcore.derive_ratios(rows).to_numpy().copy()
    x[::7, 24] = np.nan  # missing values reach LightGBM in some rows
    for member, columns in zip(ensemble.members, ensemble._columns or [], strict=True):
        if not hasattr(member, "booster"):
            continue
        assert member._single is not None, "the fast single-row predictor must load with the pinned LightGBM"
        xm = np.ascontiguousarray(x[:, columns])
        batch = member.booster.predict(xm, pred_contrib=True, num_threads=1)
        for i in range(len(xm)):
            contrib, base = member.contributions(xm[i : i + 1])
            assert np.array_equal(np.append(contrib[0], base[0]), batch[i]), (member.name, i)
            assert np.array_equal(member.booster.predict(xm[i : i + 1], pred_contrib=True)[0], batch[i])
    for i in range(len(x)):
        total, base, raw = ensemble.decompose(x[i : i + 1])
        total_one, base_one, raw_one = ensemble.decompose_one(x[i])
        assert total_one.tolist() == total[0].tolist() and base_one == base[0] and raw_one == raw[0].tolist(), i


def test_concurrent_single_scoring_gives_identical_results(real_rows):
    """Each thread has its own LightGBM fast-predict handle: concurrent calls give the sequential results."""
    from concurrent.futures import ThreadPoolExecutor

    statements = [
        {k: (None if v != v else float(v)) for k, v in r.items()}
        for r in real_rows.sample(120, random_state=3)[list(mlcore.FINANCIAL_FIELDS)].to_dict("records")
    ]
    expected = [mlcore.score_annual(s).to_dict() for s in statements] + [
        mlcore.score_quarterly(s, "x4").to_dict() for s in statements
    ]

    def score(i: int) -> dict:
        n = len(statements)
        return (
            mlcore.score_annual(statements[i]) if i < n else mlcore.score_quarterly(statements[i - n], "x4")
        ).to_dict()

    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(3):
            assert list(pool.map(score, range(2 * len(statements)))) == expected
