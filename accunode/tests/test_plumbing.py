"""Health, request id and the error envelope outside DRF."""

import pytest

from accunode.api.middleware import request_id_from


def test_liveness_answers_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_reports_every_check(client):
    response = client.get("/api/v1/health")
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "models", "queue"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert response.status_code == (200 if body["status"] == "ok" else 503)


def test_request_id_echoes_a_sane_caller_value(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_request_id_replaces_an_unsafe_caller_value(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="bad value\nwith newline")
    assert response["X-Request-ID"] != "bad value\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_request_id_rejects_overlong_values():
    assert request_id_from("a" * 65) != "a" * 65
    assert request_id_from("a" * 64) == "a" * 64


def test_unknown_api_path_gets_the_envelope(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_outside_api_is_not_json(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]
