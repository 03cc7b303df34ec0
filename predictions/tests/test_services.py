"""Prediction services: company summaries stay equal to a full recomputation after every kind of write."""

import pytest

from accunode.api.testing import make_member
from companies.models import Company
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions import services
from predictions.models import Prediction
from predictions.tests.factories import scored_prediction

SUMMARY_FIELDS = [
    "prediction_count",
    "latest_annual_prediction_id",
    "latest_annual_reporting_year",
    "latest_annual_probability",
    "latest_annual_risk_level",
    "latest_annual_rating",
    "latest_quarterly_prediction_id",
    "latest_quarterly_reporting_year",
    "latest_quarterly_reporting_quarter",
    "latest_quarterly_probability",
    "latest_quarterly_risk_level",
    "latest_quarterly_rating",
]


def summary(company_id) -> dict:
    return Company.objects.filter(pk=company_id).values(*SUMMARY_FIELDS).get()


def recomputed(company_id) -> dict:
    services.company_summaries_refresh(company_ids=[company_id])
    return summary(company_id)


@pytest.mark.django_db
def test_incremental_summary_equals_full_refresh_in_any_order():
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)

    def create(kind, year, quarter=None, **overrides):
        company = {"symbol": "ORDER", "name": "Order Inc"}
        return scored_prediction(organization, analyst, kind, year, quarter, company=company, **overrides)

    steps = [
        ("annual", 2021, None, {}),
        ("annual", 2023, None, {"net_income": -200.0}),
        ("annual", 2019, None, {}),
        ("quarterly", 2023, 4, {}),
        ("quarterly", 2024, 1, {"revenue": 50.0}),
        ("quarterly", 2023, 2, {}),
        ("quarterly", 2024, 3, {}),  # same year, later quarter: the new latest
        ("quarterly", 2024, 2, {}),  # same year, earlier quarter: not
    ]
    for kind, year, quarter, overrides in steps:
        prediction = create(kind, year, quarter, **overrides)
        incremental = summary(prediction.company_id)
        assert incremental == recomputed(prediction.company_id), (kind, year, quarter)
    final = summary(prediction.company_id)
    assert final["prediction_count"] == 8
    assert final["latest_annual_reporting_year"] == 2023
    assert (final["latest_quarterly_reporting_year"], final["latest_quarterly_reporting_quarter"]) == (2024, 3)
    latest = Prediction.objects.get(company_id=prediction.company_id, kind="annual", reporting_year=2023)
    assert final["latest_annual_probability"] == latest.probability
