"""Factories and sample statements for companies and predictions."""

import copy

import factory

from companies.models import Company
from mlcore.fields import EXAMPLE_FINANCIALS
from organizations.tests.factories import OrganizationFactory
from predictions.models import Prediction

# The example statement of API.md (USD millions).
SAMPLE_FINANCIALS = EXAMPLE_FINANCIALS


def sample_financials(**overrides) -> dict:
    data = copy.deepcopy(SAMPLE_FINANCIALS)
    data.update(overrides)
    return data


def prediction_payload(symbol="ACME", year=2023, quarter=None, **financial_overrides) -> dict:
    payload = {
        "company": {"symbol": symbol, "name": f"{symbol} Corp", "sector": "Industrials"},
        "reporting_year": year,
        "financials": sample_financials(**financial_overrides),
    }
    if quarter is not None:
        payload["reporting_quarter"] = quarter
    return payload


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    organization = factory.SubFactory(OrganizationFactory)
    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.Sequence(lambda n: f"Company {n}")
    sector = "Industrials"


class PredictionFactory(factory.django.DjangoModelFactory):
    """A stored annual prediction of a company (written directly, not scored: for admin and model tests)."""

    class Meta:
        model = Prediction

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    kind = "annual"
    reporting_year = 2023
    financials = factory.LazyFunction(sample_financials)
    probability = 0.01
    risk_level = "LOW"
    rating = "bb"
    model_version = "test"


def scored_prediction(organization, created_by, kind, year, quarter=None, *, company=None, **financial_overrides):
    """A prediction made through ``prediction_create`` (validated, scored, explained, stored) for the sample
    statement with ``financial_overrides``; ``company`` is the ``{"symbol", "name", …}`` it names."""
    from predictions import services

    return services.prediction_create(
        organization=organization,
        kind=kind,
        reporting_year=year,
        reporting_quarter=quarter,
        financials=sample_financials(**financial_overrides),
        company_ref=company or {"symbol": "ACME", "name": "ACME Corp"},
        created_by=created_by,
    )
