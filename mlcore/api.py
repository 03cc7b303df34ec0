"""Public API of mlcore: validation, scoring (one company or a frame), explanations, bands, model status.

Everything the rest of AccuNode needs is importable from ``mlcore`` (see ``mlcore/__init__.py``):

- ``validate_financials(data) -> dict`` / ``validate_financials_frame(df) -> (valid_mask, errors)``
- ``score_annual(financials) -> ScoreResult`` / ``score_quarterly(financials_annualized, annualization=None)``
- ``score_frame(df, kind) -> DataFrame`` (probability, risk_level, rating, component_<member>; no drivers)
- ``explain(financials, kind) -> list[dict]`` (drivers, for bulk predictions viewed later)
- ``annualize_quarter(current, previous_three=None)`` / ``annualize_frame(df)``
- ``risk_level_for(p)``, ``rating_for(p)`` and the vectorised ``risk_levels_for``, ``ratings_for``
- ``models_status() -> {"annual": "ok", "quarterly": "ok"}`` (raises ``ModelArtefactError``), ``model_version(kind)``

Single-company calls validate their input (raising ``FinancialsValidationError``) and always return drivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .artefacts import ModelArtefactError, get_ensemble
from .bands import rating_for, ratings_for, risk_level_for, risk_levels_for
from .ensemble import sigmoid
from .features import FEATURE_NAMES, derive_features, feature_values
from .fields import FINANCIAL_FIELDS, KINDS, POSITIVE_FIELDS, REQUIRED_FIELDS
from .validation import numeric_financials, validate_financials

DRIVER_COUNT = 6
"""Drivers returned per prediction (API.md: at least 3, at most 8)."""

DEFAULT_CHUNK_SIZE = 20_000


@dataclass(frozen=True)
class ScoreResult:
    """One scored statement, ready to store (``to_dict`` is JSON-serialisable)."""

    kind: str
    probability: float
    risk_level: str
    rating: str
    components: dict[str, float]
    drivers: list[dict[str, Any]]
    ratios: dict[str, float | None]
    model_version: str
    annualization: str | None = None
    base_log_odds: float = field(default=0.0, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def _drivers(contributions: npt.NDArray[np.float64], x: Sequence[float]) -> list[dict[str, Any]]:
    """Top ``DRIVER_COUNT`` features by |contribution| (stable order on ties); ``x`` the features as floats."""
    order = np.argsort(-np.abs(contributions), kind="stable")[:DRIVER_COUNT].tolist()
    values = contributions.tolist()
    return [
        {
            "feature": FEATURE_NAMES[i],
            "value": None if x[i] != x[i] else round(x[i], 6),
            "contribution": round(values[i], 6),
        }
        for i in order
    ]


def _score_one(financials: Mapping[str, Any], kind: str, annualization: str | None) -> ScoreResult:
    clean = validate_financials(financials)
    ensemble = get_ensemble(kind)
    values = feature_values(clean)
    contributions, base, raw = ensemble.decompose_one(np.array(values))
    final_logit = base + float(contributions.sum())
    # one sigmoid call for the final and the member log-odds under the calibration (elementwise, same values)
    probability, *components = sigmoid([final_logit, *(ensemble.slope * r + ensemble.intercept for r in raw)]).tolist()
    return ScoreResult(
        kind=kind,
        probability=probability,
        risk_level=risk_level_for(probability),
        rating=rating_for(probability),
        components=dict(zip(ensemble.member_names, components, strict=True)),
        drivers=_drivers(contributions, values),
        ratios={n: (None if v != v else v) for n, v in zip(FEATURE_NAMES, values, strict=True)},
        model_version=ensemble.version,
        annualization=annualization,
        base_log_odds=base,
    )


def score_annual(financials: Mapping[str, Any]) -> ScoreResult:
    """Validate and score one annual statement (USD millions) with the annual ensemble, drivers included."""
    return _score_one(financials, "annual", None)


def score_quarterly(financials_annualized: Mapping[str, Any], annualization: str | None = None) -> ScoreResult:
    """Score one quarterly statement already annualized by :func:`annualize_quarter` (``"ttm"``/``"x4"``)."""
    if annualization not in (None, "ttm", "x4"):
        raise ValueError(f"annualization must be 'ttm', 'x4' or None, got {annualization!r}")
    return _score_one(financials_annualized, "quarterly", annualization)


def explain(financials: Mapping[str, Any], kind: str = "annual") -> list[dict[str, Any]]:
    """Drivers of one statement (``{"feature", "value", "contribution"}``, largest |contribution| first)."""
    clean = validate_financials(financials)
    ensemble = get_ensemble(_check_kind(kind))
    values = feature_values(clean)
    contributions, _, _ = ensemble.decompose_one(np.array(values))
    return _drivers(contributions, values)


def score_frame(
    frame: pd.DataFrame, kind: str = "annual", *, chunk_size: int = DEFAULT_CHUNK_SIZE, num_threads: int = 1
) -> pd.DataFrame:
    """Score many statements fast (vectorised, chunked; no drivers).

    ``frame`` holds the financial columns (numeric, or numeric text as read from a CSV); validate it first with
    ``validate_financials_frame``. Rows that cannot be scored (a required item missing, ``total_assets`` <= 0)
    get NaN probability and missing (NA) bands rather than a made-up number. Returns, on ``frame.index``: probability,
    risk_level, rating, and ``component_<member>`` for each ensemble member.
    """
    ensemble = get_ensemble(_check_kind(kind))
    n = len(frame)
    probability = np.full(n, np.nan)
    components = np.full((n, len(ensemble.members)), np.nan)
    for start in range(0, n, chunk_size):
        chunk = frame.iloc[start : start + chunk_size]
        numeric = numeric_financials(chunk)
        columns = {f: numeric[f].to_numpy() for f in FINANCIAL_FIELDS}
        ok = ~np.isnan(np.column_stack([columns[f] for f in REQUIRED_FIELDS])).any(axis=1)
        for f in POSITIVE_FIELDS:
            ok &= columns[f] > 0
        if not ok.any():
            continue
        x = derive_features({f: v[ok] for f, v in columns.items()})
        p, comp = ensemble.predict(x, num_threads=num_threads)
        rows = np.arange(start, start + len(chunk))[ok]
        probability[rows] = p
        components[rows] = comp
    scored = ~np.isnan(probability)
    risk = np.full(n, None, dtype=object)
    rating = np.full(n, None, dtype=object)
    risk[scored] = risk_levels_for(probability[scored])
    rating[scored] = ratings_for(probability[scored])
    out = pd.DataFrame({"probability": probability, "risk_level": risk, "rating": rating}, index=frame.index)
    for i, name in enumerate(ensemble.member_names):
        out[f"component_{name}"] = components[:, i]
    return out


def model_version(kind: str = "annual") -> str:
    """Version string of the loaded ``kind`` model (loads it if needed)."""
    return get_ensemble(_check_kind(kind)).version


def models_status() -> dict[str, str]:
    """``{"annual": "ok", "quarterly": "ok"}`` once both ensembles load and verify; else ``ModelArtefactError``."""
    return {kind: "ok" for kind in KINDS if get_ensemble(kind) is not None}


def load_models() -> None:
    """Load and verify every model now (optional warm-up; otherwise they load on first use)."""
    models_status()


__all__ = [
    "DRIVER_COUNT",
    "ModelArtefactError",
    "ScoreResult",
    "explain",
    "load_models",
    "model_version",
    "models_status",
    "rating_for",
    "ratings_for",
    "risk_level_for",
    "risk_levels_for",
    "score_annual",
    "score_frame",
    "score_quarterly",
]
