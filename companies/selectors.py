"""Reads of companies."""

from __future__ import annotations

from django.db.models import Avg, Count, Q, QuerySet

from accunode.queries import unique_or_none
from organizations.scoping import scope_to_organization

from .models import Company


def company_list(*, organization) -> QuerySet[Company]:
    return scope_to_organization(Company.objects.all(), organization)


def company_find_by_symbol(*, organization, symbol: str) -> Company | None:
    return unique_or_none(company_list(organization=organization).filter(symbol=symbol.strip().upper()))


def company_portfolio_summary(*, organization) -> dict:
    """Counts by the latest annual risk level and sector, from the companies' summary fields."""
    companies = company_list(organization=organization)
    by_risk_level = dict(
        companies.exclude(latest_annual_risk_level="")
        .values_list("latest_annual_risk_level")
        .annotate(n=Count("id"))
        .values_list("latest_annual_risk_level", "n")
    )
    by_sector = [
        {
            "sector": row["sector"] or None,
            "companies": row["companies"],
            "average_probability": row["average_probability"],
        }
        for row in companies.values("sector")
        .annotate(
            companies=Count("id"),
            average_probability=Avg("latest_annual_probability"),
            scored=Count("id", filter=Q(latest_annual_probability__isnull=False)),
        )
        .order_by("sector")
    ]
    return {
        "companies": companies.count(),
        "average_probability": companies.aggregate(value=Avg("latest_annual_probability"))["value"],
        "by_risk_level": by_risk_level,
        "by_sector": by_sector,
    }
