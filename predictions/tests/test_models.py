"""Prediction storage: time-ordered ids, the JSON columns kept as PostgreSQL ``json``, and the set-based company
summary refresh of bulk jobs giving what the per-company service gives."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from predictions.choices import PredictionKind
from predictions.ids import uuid7, uuid7_hex_batch
from predictions.models import Prediction
from predictions.tests.factories import CompanyFactory, PredictionFactory, sample_financials

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="column types of PostgreSQL (CI sets DATABASE_URL)"
)


def _prediction(*, company, organization) -> Prediction:
    return PredictionFactory.build(company=company, organization=organization, probability=0.1, rating="bbb")


@pytest.mark.django_db
def test_a_prediction_gets_a_time_ordered_id():
    company = CompanyFactory()
    _prediction(company=company, organization=company.organization).save()
    assert Prediction.objects.get().pk.version == 7


def test_uuid7_ids_are_version_7_and_ordered_by_time():
    first, *rest = uuid7_hex_batch(1000)
    later = uuid7()
    ids = [uuid.UUID(hex=first), *(uuid.UUID(hex=h) for h in rest)]
    assert len(set(ids)) == 1000
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in [*ids, later])
    assert all(u.hex[:12] == first[:12] for u in ids)  # one millisecond for the whole batch
    assert later.hex[:12] >= first[:12]
    assert uuid7_hex_batch(0) == []


@pytest.mark.django_db
def test_financials_and_components_read_back_as_written():
    company = CompanyFactory()
    prediction = _prediction(company=company, organization=company.organization)
    prediction.components = {"logistic": 0.12, "lightgbm": 0.08}
    prediction.save()
    stored = Prediction.objects.get()
    assert stored.financials == sample_financials()
    assert stored.components == {"logistic": 0.12, "lightgbm": 0.08}
    assert list(Prediction.objects.values_list("financials", flat=True)) == [sample_financials()]
    Prediction.objects.update(financials={"revenue": 1.5})
    assert Prediction.objects.get().financials == {"revenue": 1.5}


@postgresql_only
@pytest.mark.django_db
def test_financials_and_components_are_json_columns_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
            [Prediction._meta.db_table],
        )
        types = dict(cursor.fetchall())
    assert (types["financials"], types["components"], types["ratios"]) == ("json", "json", "jsonb")


SUMMARY_FIELDS = [
    "prediction_count",
    *(f"latest_{kind}_{name}" for kind in ("annual", "quarterly") for name in ("prediction_id", "reporting_year")),
    "latest_quarterly_reporting_quarter",
    *(f"latest_{kind}_{name}" for kind in ("annual", "quarterly") for name in ("probability", "risk_level", "rating")),
]


@pytest.mark.django_db
def test_the_bulk_summary_refresh_matches_the_per_company_service():
    from companies.models import Company
    from predictions.bulk import company_summaries_refresh_bulk
    from predictions.services import company_summaries_refresh

    with_both, annual_only, without = CompanyFactory(), CompanyFactory(), CompanyFactory()
    for company, year, quarter, probability in [
        (with_both, 2021, None, 0.2),
        (with_both, 2023, None, 0.05),
        (with_both, 2022, None, 0.4),
        (with_both, 2023, 2, 0.3),
        (with_both, 2023, 4, 0.01),
        (with_both, 2022, 4, 0.5),
        (annual_only, 2020, None, 0.9),
    ]:
        prediction = _prediction(company=company, organization=company.organization)
        prediction.reporting_year, prediction.reporting_quarter, prediction.probability = year, quarter, probability
        prediction.kind = PredictionKind.QUARTERLY if quarter else PredictionKind.ANNUAL
        prediction.rating = f"r{year % 100}{quarter or 0}"
        prediction.save()
    companies = [with_both, annual_only, without]
    ids = [c.pk for c in companies]

    def summaries():
        rows = {row.pop("pk"): row for row in Company.objects.filter(pk__in=ids).values("pk", *SUMMARY_FIELDS)}
        return [rows[pk] for pk in ids]

    Company.objects.filter(pk__in=ids).update(prediction_count=9, latest_annual_rating="x", latest_quarterly_rating="x")
    assert company_summaries_refresh_bulk(company_ids=ids) == 3
    by_bulk = summaries()
    company_summaries_refresh(company_ids=ids)
    assert by_bulk == summaries()
    assert [s["prediction_count"] for s in by_bulk] == [6, 1, 0]
    assert (by_bulk[0]["latest_annual_reporting_year"], by_bulk[0]["latest_quarterly_reporting_quarter"]) == (2023, 4)
    assert by_bulk[2]["latest_annual_rating"] == by_bulk[2]["latest_quarterly_rating"] == ""
