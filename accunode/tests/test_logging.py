"""Log lines written during a request are JSON with the request id, user and organization of that request.

The views below exist only for these tests (``pytest.mark.urls`` points at this module). Records are formatted by
the formatter and filter that ``settings.LOGGING`` configures, so a change there is what these tests see.
"""

import io
import json
import logging

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from django.utils.module_loading import import_string
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accunode.api.testing import client_for, make_member
from organizations.choices import Role
from organizations.scoping import OrgScopedAPIMixin
from organizations.tests.factories import OrganizationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

LOGGER_NAME = "accunode.tests.request_log"
request_logger = logging.getLogger(LOGGER_NAME)


class ScoringProbeView(OrgScopedAPIMixin, APIView):
    """A tenant API view like every other: JWT user, active organization, then a log line."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        request_logger.warning("scoring started", extra={"company_count": 3})
        return Response({"ok": True})


def anonymous_probe(request):
    request_logger.warning("anonymous page")
    return HttpResponse("ok")


def unavailable_probe(request):
    return HttpResponse("down", status=503)


urlpatterns = [
    path("api/v1/test-logging/scoring", ScoringProbeView.as_view()),
    path("test-logging/anonymous", anonymous_probe),
    path("test-logging/unavailable", unavailable_probe),
]


@pytest.fixture
def json_log_lines():
    """Attach a handler built from ``settings.LOGGING``'s JSON formatter and request-context filter; yield a
    function that returns the lines written so far, parsed."""
    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    formatter = import_string(formatter_config.pop("()"))(**formatter_config)
    context_filter = import_string(settings.LOGGING["filters"]["request_context"]["()"])()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(context_filter)
    loggers = [logging.getLogger(LOGGER_NAME), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_api_log_line_carries_request_user_and_organization(json_log_lines):
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)

    response = client_for(analyst).get("/api/v1/test-logging/scoring", HTTP_X_REQUEST_ID="req-log-42")

    assert response.status_code == 200
    (line,) = [line for line in json_log_lines() if line["message"] == "scoring started"]
    assert line["request_id"] == "req-log-42" == response["X-Request-ID"]
    assert line["user_id"] == str(analyst.pk)
    assert line["organization_id"] == str(organization.pk)
    assert line["level"] == "WARNING"
    assert line["logger"] == LOGGER_NAME
    assert line["company_count"] == 3
    assert "time" in line


def test_generated_request_id_is_the_one_returned(json_log_lines):
    response = client_for(make_member(OrganizationFactory(), Role.VIEWER)).get("/api/v1/test-logging/scoring")

    (line,) = [line for line in json_log_lines() if line["message"] == "scoring started"]
    assert len(response["X-Request-ID"]) == 32
    assert line["request_id"] == response["X-Request-ID"]


def test_anonymous_line_has_every_key_with_placeholders(client, json_log_lines):
    response = client.get("/test-logging/anonymous", HTTP_X_REQUEST_ID="anon-1")

    (line,) = [line for line in json_log_lines() if line["message"] == "anonymous page"]
    assert line["request_id"] == "anon-1" == response["X-Request-ID"]
    assert line["user_id"] == "-"
    assert line["organization_id"] == "-"


def test_session_user_is_in_the_log_context(client, json_log_lines):
    user = make_member(OrganizationFactory(), Role.VIEWER)
    client.force_login(user)

    client.get("/test-logging/anonymous")

    (line,) = [line for line in json_log_lines() if line["message"] == "anonymous page"]
    assert line["user_id"] == str(user.pk)


def test_django_response_log_carries_the_request_id(client, json_log_lines):
    """Django logs 5xx responses after the middleware has returned; the line still names the request."""
    response = client.get("/test-logging/unavailable", HTTP_X_REQUEST_ID="down-7")

    assert response.status_code == 503
    (line,) = [line for line in json_log_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == "down-7"
    assert line["status_code"] == 503


def test_context_does_not_leak_between_requests(client, json_log_lines):
    client_for(make_member(OrganizationFactory(), Role.VIEWER)).get("/api/v1/test-logging/scoring")
    client.get("/test-logging/anonymous")

    (line,) = [line for line in json_log_lines() if line["message"] == "anonymous page"]
    assert line["user_id"] == "-"
    assert line["organization_id"] == "-"
