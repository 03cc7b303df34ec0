"""Duplicate race: two concurrent identical creates → one 201, one 409, one row (the constraint decides)."""

import threading

import pytest
from django.db import connection

from accunode.api.testing import client_for, make_member
from companies.models import Company
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions.models import Prediction
from predictions.tests.factories import prediction_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI sets DATABASE_URL)"
)
@pytest.mark.parametrize("company_exists", [True, False])
def test_concurrent_identical_creates_store_one_row(company_exists):
    organization = OrganizationFactory()
    analysts = [make_member(organization, Role.ANALYST) for _ in range(2)]
    if company_exists:
        Company.objects.create(organization=organization, symbol="RACE", name="Race Corp")
    barrier = threading.Barrier(len(analysts))
    statuses: list[int] = []
    bodies: list[dict] = []

    def create(user):
        client = client_for(user)
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/predictions/annual/", prediction_payload(symbol="RACE", year=2023), format="json"
            )
            statuses.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(user,)) for user in analysts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201, 409], bodies
    created = next(body for body in bodies if "id" in body)
    conflict = next(body for body in bodies if "error" in body)
    assert conflict["error"]["code"] == "conflict"
    assert conflict["error"]["details"]["existing_id"] == created["id"]
    assert Prediction.objects.filter(organization=organization).count() == 1
    assert Company.objects.filter(organization=organization, symbol="RACE").count() == 1
