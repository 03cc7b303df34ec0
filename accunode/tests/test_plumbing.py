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


def test_method_not_allowed_outside_drf_gets_the_envelope_and_allow(client):
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_readiness_is_ok_with_every_dependency_up(client):
    body = client.get("/api/v1/health").json()
    assert body["checks"]["models"] == "ok"
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_readiness_is_503_when_the_cache_is_down(client, settings):
    # A real Redis client pointed at a port where nothing listens: the check must fail, not hang.
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "error"
    assert response.json()["status"] == "degraded"


@pytest.mark.django_db
def test_readiness_is_503_when_the_models_are_missing(client, monkeypatch, tmp_path):
    from mlcore import artefacts

    monkeypatch.setenv("MLCORE_ARTEFACTS_DIR", str(tmp_path))
    artefacts.reset_cache()
    try:
        response = client.get("/api/v1/health")
    finally:
        monkeypatch.delenv("MLCORE_ARTEFACTS_DIR")
        artefacts.reset_cache()
    assert response.status_code == 503
    assert response.json()["checks"]["models"] == "error"


@pytest.mark.django_db
def test_schema_and_offline_swagger_ui(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/auth/login/", "/api/v1/companies/", "/api/v1/predictions/annual/", "/api/v1/jobs/"):
        assert path in paths
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html  # assets served by us, no CDN
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_server_error_handler_hides_details_and_quotes_the_request_id(rf):
    from accunode.api.handlers import server_error

    request = rf.get("/api/v1/anything")
    request.request_id = "req-42"
    response = server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "req-42" in body
    assert "Traceback" not in body


def test_home_page_links_the_entry_points(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for link in ("/api/v1/docs/", "/admin/", "/api/v1/health"):
        assert f'href="{link}"' in html


def test_readiness_is_503_when_the_database_is_down():
    """A real process whose DATABASE_URL points at a port where nothing listens: degraded, not a 500."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/api/v1/health')\n"
        "print(json.dumps({'status': response.status_code, 'body': response.json()}))\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "accunode.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
        "REDIS_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["checks"]["database"] == "error"
    assert result["body"]["checks"]["cache"] == "ok"
