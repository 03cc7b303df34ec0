"""Prediction storage: time-ordered ids and the JSON columns kept as PostgreSQL ``json``."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from predictions.choices import PredictionKind
from predictions.ids import uuid7, uuid7_hex_batch
from predictions.models import Prediction
from predictions.tests.factories import CompanyFactory, sample_financials

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="column types of PostgreSQL (CI sets DATABASE_URL)"
)


def _prediction(*, company, organization) -> Prediction:
    return Prediction(
        organization=organization,
        company=company,
        kind=PredictionKind.ANNUAL,
        reporting_year=2023,
        financials=sample_financials(),
        probability=0.1,
        risk_level="LOW",
        rating="bbb",
        model_version="test",
    )


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
