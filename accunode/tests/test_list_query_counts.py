"""Every list of the companies and predictions API answers in a fixed number of queries, however many rows the
page holds (no N+1): the same bound for a page of 1 and a page of 40, with nested companies and creators."""

from __future__ import annotations

import pytest

from accunode.api.testing import client_for, make_member
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions.models import BulkJob
from predictions.tests.factories import CompanyFactory, PredictionFactory

# Per list: the count and the page (the user and memberships come from the principal cache, warmed first).
MAX_QUERIES = 2
LISTS = [
    "/api/v1/companies/",
    "/api/v1/predictions/annual/",
    "/api/v1/predictions/quarterly/",
    "/api/v1/jobs/",
]


def fill(organization, creator, rows: int) -> None:
    for index in range(rows):
        company = CompanyFactory(organization=organization, symbol=f"Q{index}")
        PredictionFactory(company=company, created_by=creator)
        PredictionFactory(
            company=company, created_by=creator, kind="quarterly", reporting_quarter=1 + index % 4, drivers=[]
        )
        BulkJob.objects.create(organization=organization, kind="annual", file=f"{index}.csv", file_name=f"{index}.csv")


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("rows", [1, 40])
def test_a_list_page_costs_the_same_few_queries_for_1_or_40_rows(url, rows, django_assert_max_num_queries):
    organization = OrganizationFactory()
    viewer = make_member(organization, Role.VIEWER)
    fill(organization, make_member(organization, Role.ANALYST), rows)
    fill(OrganizationFactory(), None, 3)  # another organization's rows are neither shown nor fetched
    client = client_for(viewer)
    assert client.get("/api/v1/predictions/stats/").status_code == 200  # warms the principal cache

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url, {"page_size": 50})

    assert response.status_code == 200
    assert response.json()["count"] == rows
    assert len(response.json()["results"]) == rows
