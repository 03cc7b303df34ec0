"""Reads of predictions."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from companies.selectors import company_portfolio_summary
from organizations.scoping import scope_to_organization

from .choices import PredictionKind
from .models import Prediction

RISK_LEVEL_ORDER = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def prediction_list(*, organization, kind: str) -> QuerySet[Prediction]:
    return (
        scope_to_organization(Prediction.objects.all(), organization)
        .filter(kind=kind)
        .select_related("company", "created_by")
    )


def prediction_stats(*, organization) -> dict:
    """Portfolio figures of API.md ``GET predictions/stats/``."""
    counts = scope_to_organization(Prediction.objects.all(), organization).aggregate(
        annual=Count("id", filter=Q(kind=PredictionKind.ANNUAL)),
        quarterly=Count("id", filter=Q(kind=PredictionKind.QUARTERLY)),
    )
    portfolio = company_portfolio_summary(organization=organization)
    return {
        "companies": portfolio["companies"],
        "annual_predictions": counts["annual"],
        "quarterly_predictions": counts["quarterly"],
        "average_probability": portfolio["average_probability"],
        "by_risk_level": {level: portfolio["by_risk_level"].get(level, 0) for level in RISK_LEVEL_ORDER},
        "by_sector": portfolio["by_sector"],
    }
