"""Property-based API testing: schemathesis generates requests from our own OpenAPI schema and calls the app
in-process, authenticated as an organization admin. Every response must be a non-5xx, documented status with
a body that matches the schema."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accunode.api.testing import make_member
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db):
    from accunode.wsgi import application

    # Like Django's test client: the test's transaction owns the connection, so requests must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def admin_headers(db):
    from rest_framework_simplejwt.tokens import RefreshToken

    organization = OrganizationFactory()
    admin = make_member(organization, Role.ADMIN)
    return {"Authorization": f"Bearer {RefreshToken.for_user(admin).access_token}"}


@schema.parametrize()
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, admin_headers):
    cache.clear()  # rate-limit counters would otherwise turn later examples into 429s
    response = case.call(headers=admin_headers)
    case.validate_response(response, checks=CHECKS)
