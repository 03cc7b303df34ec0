"""Liveness (``/health``) and readiness (``/api/v1/health``): database, cache, models and queue."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception:  # any driver error means the database is not usable
        return "error"


def _check_cache() -> str:
    probe_key, probe_value = f"health:{uuid.uuid4().hex}", "1"
    try:
        cache.set(probe_key, probe_value, 5)
        ok = cache.get(probe_key) == probe_value
        cache.delete(probe_key)
        return "ok" if ok else "error"
    except Exception:  # connection refused, timeouts
        return "error"


def _check_models() -> str:
    try:
        from mlcore import models_status

        models_status()
        return "ok"
    except Exception:  # missing or corrupted artefacts
        return "error"


def _check_queue() -> str:
    if settings.ACCUNODE_JOBS_IN_PROCESS:
        return "disabled"
    try:
        from accunode.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:  # broker unreachable
        return "error"


@require_GET
@never_cache
def liveness(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readiness(request):
    checks = {
        "database": _check_database(),
        "cache": _check_cache(),
        "models": _check_models(),
        "queue": _check_queue(),
    }
    healthy = all(value in ("ok", "disabled") for value in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks, "version": settings.ACCUNODE_VERSION}
    return JsonResponse(body, status=200 if healthy else 503)
