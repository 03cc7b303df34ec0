"""``Idempotency-Key`` for create endpoints, stored in the shared cache per organization + user + key for 24 h.

A replay with the same body answers the first response (same status and body); another body → 422
``idempotency_key_reused``; a replay while the first request is still running → 409 ``conflict``.
"""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.response import Response

from .exceptions import Conflict, IdempotencyKeyReused, ValidationFailed

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
IN_FLIGHT_TTL_SECONDS = 60
MAX_KEY_LENGTH = 255


def _body_fingerprint(request) -> str:
    return hashlib.sha256(json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()


def idempotent(request, scope: str, handler) -> Response:
    """Run ``handler()`` at most once per Idempotency-Key; replays get the stored response."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 characters.", details={"Idempotency-Key": ["Invalid length."]}
        )
    identity = hashlib.sha256(f"{request.organization.pk}:{request.user.pk}:{scope}:{key}".encode()).hexdigest()
    cache_key = f"idempotency:{identity}"
    fingerprint = _body_fingerprint(request)
    if not cache.add(cache_key, {"state": "in_flight", "fingerprint": fingerprint}, IN_FLIGHT_TTL_SECONDS):
        stored = cache.get(cache_key)
        if stored is None:  # expired between add and get: treat as new
            return idempotent(request, scope, handler)
        if stored["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        if stored["state"] == "in_flight":
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        response = Response(stored["body"], status=stored["status"], headers=stored.get("headers", {}))
        response["Idempotent-Replayed"] = "true"
        return response
    try:
        response = handler()
    except Exception:
        cache.delete(cache_key)
        raise
    if response.status_code >= 500:
        cache.delete(cache_key)
        return response
    body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    headers = {name: response[name] for name in ("Location",) if response.has_header(name)}
    cache.set(
        cache_key,
        {"state": "done", "fingerprint": fingerprint, "status": response.status_code, "body": body, "headers": headers},
        IDEMPOTENCY_TTL_SECONDS,
    )
    return response
