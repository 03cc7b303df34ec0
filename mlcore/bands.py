"""Risk level and model-implied rating bands (``API.md``), defined once, scalar and vectorised.

A probability equal to a threshold belongs to the band above it (``LOW < 0.02 <= MEDIUM``).
"""

from __future__ import annotations

import bisect

import numpy as np
import numpy.typing as npt

RISK_LEVEL_THRESHOLDS: tuple[float, ...] = (0.02, 0.05, 0.15)
RISK_LEVELS: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")

RATING_THRESHOLDS: tuple[float, ...] = (0.0001, 0.0003, 0.001, 0.004, 0.015, 0.08)
RATINGS: tuple[str, ...] = ("aaa", "aa", "a", "bbb", "bb", "b", "ccc")

_RISK_EDGES = np.asarray(RISK_LEVEL_THRESHOLDS)
_RISK_NAMES = np.asarray(RISK_LEVELS, dtype=object)
_RATING_EDGES = np.asarray(RATING_THRESHOLDS)
_RATING_NAMES = np.asarray(RATINGS, dtype=object)


def _check_probability(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"probability must be in [0, 1], got {p!r}")
    return p


def risk_level_for(probability: float) -> str:
    """Risk level (``LOW``/``MEDIUM``/``HIGH``/``CRITICAL``) of one probability of default."""
    p = _check_probability(probability)
    return RISK_LEVELS[bisect.bisect_right(RISK_LEVEL_THRESHOLDS, p)]  # = searchsorted(side="right")


def rating_for(probability: float) -> str:
    """Model-implied rating (``aaa`` ... ``ccc``) of one probability of default."""
    p = _check_probability(probability)
    return RATINGS[bisect.bisect_right(RATING_THRESHOLDS, p)]


def risk_levels_for(probabilities: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Vectorised :func:`risk_level_for` (object array of strings)."""
    p = np.asarray(probabilities, dtype=float)
    return _RISK_NAMES[np.searchsorted(_RISK_EDGES, p, side="right")]


def ratings_for(probabilities: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Vectorised :func:`rating_for` (object array of strings)."""
    p = np.asarray(probabilities, dtype=float)
    return _RATING_NAMES[np.searchsorted(_RATING_EDGES, p, side="right")]
