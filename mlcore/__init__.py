"""mlcore: AccuNode's pure modelling library (no ORM, imports no other app).

It owns feature derivation, validation of financial statements, annualization, the model artefacts and their
loading, ensemble inference and explanations, risk level and rating bands, and the training and evaluation
commands. The public API is re-exported here; see ``mlcore/README.md``.
"""

from .annualize import annualize_frame, annualize_quarter
from .api import (
    DRIVER_COUNT,
    ScoreResult,
    explain,
    load_models,
    model_version,
    models_status,
    score_annual,
    score_frame,
    score_quarterly,
)
from .artefacts import ModelArtefactError
from .bands import RATINGS, RISK_LEVELS, rating_for, ratings_for, risk_level_for, risk_levels_for
from .features import FEATURE_NAMES, derive_ratios, ratios_for
from .fields import FINANCIAL_FIELDS, NON_NEGATIVE_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from .validation import FinancialsValidationError, validate_financials, validate_financials_frame

__all__ = [
    "DRIVER_COUNT",
    "FEATURE_NAMES",
    "FINANCIAL_FIELDS",
    "NON_NEGATIVE_FIELDS",
    "OPTIONAL_FIELDS",
    "RATINGS",
    "REQUIRED_FIELDS",
    "RISK_LEVELS",
    "FinancialsValidationError",
    "ModelArtefactError",
    "ScoreResult",
    "annualize_frame",
    "annualize_quarter",
    "derive_ratios",
    "explain",
    "load_models",
    "model_version",
    "models_status",
    "rating_for",
    "ratings_for",
    "ratios_for",
    "risk_level_for",
    "risk_levels_for",
    "score_annual",
    "score_frame",
    "score_quarterly",
    "validate_financials",
    "validate_financials_frame",
]
