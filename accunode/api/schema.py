"""OpenAPI building blocks shared by every app: the error envelope of API.md and ready-made error responses.

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **error_responses(400, 409)})

``COMMON_ERROR_RESPONSES`` holds the errors any authenticated endpoint may answer.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

# The statuses of API.md "Errors", with the codes each may carry.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "`validation_error`: malformed JSON or invalid fields; `details` maps each field to its messages.",
    401: "`not_authenticated`, `authentication_failed` or `token_not_valid`.",
    403: "`permission_denied`, `email_not_verified` or `quota_exceeded`.",
    404: "`not_found`: unknown id, or an object of another organization.",
    405: "`method_not_allowed`, with an `Allow` header.",
    409: "`conflict`: duplicate (details carry `existing_id` where the caller may see it).",
    413: "`payload_too_large`.",
    415: "`unsupported_media_type`.",
    422: "`idempotency_key_reused`.",
    429: "`rate_limited`, with a `Retry-After` header (seconds).",
    500: "`server_error`: the message quotes the request id.",
    503: "`unavailable`: a dependency is down.",
}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `validation_error`.")
    message = serializers.CharField(help_text="Human-readable sentence.")
    details = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Field → messages for validation errors; extra facts (e.g. `existing_id`, `retry_after`) otherwise.",
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    """``{"error": {"code", "message", "details"}}`` — the body of every 4xx/5xx under ``/api/``."""

    error = ErrorSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse(ErrorEnvelopeSerializer)}`` for ``extend_schema(responses=…)``."""
    return {
        status: OpenApiResponse(response=ErrorEnvelopeSerializer, description=ERROR_DESCRIPTIONS.get(status, "Error."))
        for status in statuses
    }


COMMON_ERROR_RESPONSES: dict[int, OpenApiResponse] = error_responses(401, 403, 429, 500)

# A 204 has no body; spectacular needs the absence said explicitly.
NO_CONTENT_RESPONSE = {204: OpenApiResponse(response=None, description="Done; no body.")}

# Cached reads (``CachedReadMixin``): ``If-None-Match`` with the current ``ETag`` → 304 without a body.
NOT_MODIFIED_RESPONSE = {
    304: OpenApiResponse(response=None, description="Not modified: the `If-None-Match` ETag is still current.")
}


UNDOCUMENTED_PATH_PREFIXES = ("/api/v1/health", "/api/v1/schema", "/api/v1/docs")


def add_common_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every API operation documents the errors any of them can answer
    (401/403 from auth and the organization header, 429 from the per-user limit, 500), and every list the 400
    of a bad filter and the 404 of a page out of range — so the schema is truthful without repeating them."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    for path, operations in result.get("paths", {}).items():
        if path.startswith(UNDOCUMENTED_PATH_PREFIXES):
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = [401, 403, 429, 500]
            if method in ("get", "delete", "put", "patch", "post") and ("{" in path):
                statuses.append(404)
            if method == "get" and any(p.get("name") == "page" for p in operation.get("parameters", [])):
                statuses += [400, 404]
            if method in ("post", "put", "patch"):
                statuses += [400, 415]
            for status in statuses:
                operation["responses"].setdefault(
                    str(status), {"description": ERROR_DESCRIPTIONS[status], "content": envelope}
                )
    components = result.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorEnvelope" not in components:
        components["ErrorEnvelope"] = {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "object", "additionalProperties": {}},
                    },
                    "required": ["code", "message", "details"],
                }
            },
            "required": ["error"],
        }
    return result


SWITCHED_PATH_PREFIXES = (
    ("ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS", ("/api/v1/predictions/quarterly/",)),
    ("ACCUNODE_ENABLE_BULK_UPLOAD", ("/api/v1/predictions/bulk-upload/", "/api/v1/jobs/")),
)


def drop_switched_off_endpoints(endpoints):
    """drf-spectacular pre-processing hook: endpoints switched off by a setting (they answer 404) are not in the
    schema either."""
    from django.conf import settings

    hidden = tuple(
        prefix for setting, prefixes in SWITCHED_PATH_PREFIXES if not getattr(settings, setting) for prefix in prefixes
    )
    return [endpoint for endpoint in endpoints if not (hidden and endpoint[0].startswith(hidden))]


RESPONSE_HEADERS = {
    "X-Request-ID": {
        "description": "The caller's request id if it sent a sane one (at most 64 characters), else a new one.",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
    "ETag": {"description": "Send it back in `If-None-Match`: 304 while it is current.", "schema": {"type": "string"}},
    "Location": {"description": "The URL of the created resource.", "schema": {"type": "string"}},
}


def add_response_headers(result, generator, request, public):
    """drf-spectacular post-processing hook: the headers API.md promises, on the responses that carry them —
    ``X-Request-ID`` on every response, ``Retry-After`` on every 429, ``ETag`` on the 200 of a cached read (one
    that documents a 304), ``Location`` on a 202 (bulk upload)."""
    for path, operations in result.get("paths", {}).items():
        if path.startswith(UNDOCUMENTED_PATH_PREFIXES):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = RESPONSE_HEADERS["X-Request-ID"]
                if status == "429":
                    headers["Retry-After"] = RESPONSE_HEADERS["Retry-After"]
                if status == "200" and "304" in responses:
                    headers["ETag"] = RESPONSE_HEADERS["ETag"]
                if status == "202":
                    headers["Location"] = RESPONSE_HEADERS["Location"]
    return result
