"""Races: concurrent identical creates, a single create against an open bulk chunk (the constraint decides; nobody
deadlocks), concurrent creates for one company (its summary folds every one of them in) and of one user at the
daily cap (exactly the cap gets through)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings

from accunode.api.testing import client_for, make_member
from companies.models import Company
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions import services
from predictions.models import Prediction, PredictionUsage
from predictions.tests.factories import prediction_payload

pytestmark = pytest.mark.django_db(transaction=True)
ANNUAL = "/api/v1/predictions/annual/"


def post_concurrently(requests: list[tuple]) -> list:
    """POST each ``(user, payload)`` to the annual endpoint from a thread of its own, all released at once by a
    barrier; the responses, in the order they finished."""
    barrier = threading.Barrier(len(requests))
    responses = []

    def post(user, payload):
        client = client_for(user)
        barrier.wait()
        try:
            responses.append(client.post(ANNUAL, payload, format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI sets DATABASE_URL)"
)
@pytest.mark.parametrize("company_exists", [True, False])
def test_concurrent_identical_creates_store_one_row(company_exists):
    organization = OrganizationFactory()
    analysts = [make_member(organization, Role.ANALYST) for _ in range(2)]
    if company_exists:
        Company.objects.create(organization=organization, symbol="RACE", name="Race Corp")
    responses = post_concurrently([(user, prediction_payload(symbol="RACE", year=2023)) for user in analysts])
    statuses, bodies = [response.status_code for response in responses], [response.json() for response in responses]

    assert sorted(statuses) == [201, 409], bodies
    created = next(body for body in bodies if "id" in body)
    conflict = next(body for body in bodies if "error" in body)
    assert conflict["error"]["code"] == "conflict"
    assert conflict["error"]["details"]["existing_id"] == created["id"]
    assert Prediction.objects.filter(organization=organization).count() == 1
    assert Company.objects.filter(organization=organization, symbol="RACE").count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI sets DATABASE_URL)"
)
@override_settings(ACCUNODE_MAX_PREDICTIONS_PER_USER=3)
def test_concurrent_creates_of_one_user_stop_exactly_at_the_daily_cap():
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)
    years = [2015, 2016, 2017, 2018, 2019, 2020]

    responses = post_concurrently([(analyst, prediction_payload(symbol="CAP", year=year)) for year in years])

    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [201, 201, 201, 403, 403, 403]
    assert Prediction.objects.filter(organization=organization).count() == 3
    assert PredictionUsage.objects.get(user=analyst).count == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI sets DATABASE_URL)"
)
def test_concurrent_creates_for_one_company_all_fold_into_its_summary():
    organization = OrganizationFactory()
    company = Company.objects.create(organization=organization, symbol="FOLD", name="Fold Corp")
    years = [2019, 2023, 2017, 2021, 2020, 2022]
    analysts = [make_member(organization, Role.ANALYST) for _ in years]

    responses = post_concurrently(
        [(user, prediction_payload(symbol="FOLD", year=year)) for user, year in zip(analysts, years, strict=True)]
    )

    statuses = [response.status_code for response in responses]
    assert statuses == [201] * len(years)
    summary_fields = ["prediction_count", "latest_annual_reporting_year", "latest_annual_prediction_id"]
    folded = Company.objects.filter(pk=company.pk).values(*summary_fields).get()
    latest = Prediction.objects.get(company=company, reporting_year=max(years))
    assert folded == {
        "prediction_count": len(years),
        "latest_annual_reporting_year": max(years),
        "latest_annual_prediction_id": latest.pk,
    }
    services.company_summaries_refresh(company_ids=[company.pk])
    assert Company.objects.filter(pk=company.pk).values(*summary_fields).get() == folded


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI sets DATABASE_URL)"
)
def test_a_single_create_racing_an_open_bulk_chunk_is_a_conflict_not_a_deadlock():
    """A bulk chunk inserts its predictions first and locks their companies last (summaries). A single create of
    the same company-year waits on the chunk's row; it must not hold the company's lock while it waits."""
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)
    company = Company.objects.create(organization=organization, symbol="DL", name="Deadlock Corp")
    chunk_inserted = threading.Event()
    outcome: dict = {}

    def bulk_chunk():
        try:
            with transaction.atomic():
                Prediction.objects.create(
                    organization=organization,
                    company=company,
                    kind="annual",
                    reporting_year=2023,
                    financials={},
                    probability=0.1,
                    risk_level="LOW",
                    rating="a",
                    model_version="bulk",
                    source="bulk",
                )
                chunk_inserted.set()
                time.sleep(1.0)  # the single create arrives and waits on this row
                Company.objects.select_for_update(no_key=True).filter(pk=company.pk).update(
                    prediction_count=F("prediction_count") + 1
                )
            outcome["chunk"] = "committed"
        except Exception as error:
            outcome["chunk"] = repr(error)
        finally:
            connection.close()

    def single_create():
        chunk_inserted.wait(timeout=30)
        try:
            response = client_for(analyst).post(
                "/api/v1/predictions/annual/", prediction_payload(symbol="DL", year=2023), format="json"
            )
            outcome["single"] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=bulk_chunk), threading.Thread(target=single_create)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcome["chunk"] == "committed"
    status, body = outcome["single"]
    assert status == 409, body
    assert body["error"]["details"]["existing_id"] == str(Prediction.objects.get(company=company).pk)
