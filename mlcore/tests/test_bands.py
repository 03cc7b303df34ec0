"""Risk level and rating bands at their edges (API.md), scalar and vectorised."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.bands import rating_for, ratings_for, risk_level_for, risk_levels_for

RISK_CASES = [
    (0.0, "LOW"),
    (0.019999, "LOW"),
    (0.02, "MEDIUM"),
    (0.049999, "MEDIUM"),
    (0.05, "HIGH"),
    (0.1499, "HIGH"),
    (0.15, "CRITICAL"),
    (1.0, "CRITICAL"),
]
RATING_CASES = [
    (0.0, "aaa"),
    (0.0000999, "aaa"),
    (0.0001, "aa"),
    (0.0003, "a"),
    (0.000999, "a"),
    (0.001, "bbb"),
    (0.004, "bb"),
    (0.0149, "bb"),
    (0.015, "b"),
    (0.0799, "b"),
    (0.08, "ccc"),
    (1.0, "ccc"),
]


@pytest.mark.parametrize(("p", "level"), RISK_CASES)
def test_risk_level_edges(p, level):
    assert risk_level_for(p) == level


@pytest.mark.parametrize(("p", "rating"), RATING_CASES)
def test_rating_edges(p, rating):
    assert rating_for(p) == rating


def test_vectorised_matches_scalar():
    ps = np.array([p for p, _ in RISK_CASES + RATING_CASES])
    assert list(risk_levels_for(ps)) == [risk_level_for(p) for p in ps]
    assert list(ratings_for(ps)) == [rating_for(p) for p in ps]


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan")])
def test_out_of_range_probability_is_refused(bad):
    with pytest.raises(ValueError):
        risk_level_for(bad)
