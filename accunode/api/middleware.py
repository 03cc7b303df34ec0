"""Request id on every request and response; request context for structured logs."""

import re
import uuid

from accunode.logging import organization_id_var, request_id_var, user_id_var

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_from(value: str | None) -> str:
    """The caller's request id when it is a sane token of at most 64 characters, else a new one."""
    if value and SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets ``request.request_id`` and the ``X-Request-ID`` response header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get("X-Request-ID"))
        tokens = (
            request_id_var.set(request.request_id),
            user_id_var.set("-"),
            organization_id_var.set("-"),
        )
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(tokens[0])
            user_id_var.reset(tokens[1])
            organization_id_var.reset(tokens[2])
        response["X-Request-ID"] = request.request_id
        return response


class LogContextMiddleware:
    """Puts the session user into the log context (API views add the JWT user and organization themselves)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_id_var.set(str(user.pk))
        return self.get_response(request)


ENVELOPE_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID")


class ApiErrorEnvelopeMiddleware:
    """Safety net under ``/api/``: an error answered outside DRF and the handlers (``require_GET``'s 405, CSRF's
    403, …) is rewritten into the API.md envelope, keeping headers such as ``Allow``. JSON bodies (the health
    checks' 503 and every envelope) pass unchanged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        from django.http import JsonResponse

        from .exceptions import error_body

        status = response.status_code
        code = ENVELOPE_CODES.get(status, "server_error" if status >= 500 else "error")
        message = response.reason_phrase or "Request failed."
        if status >= 500:
            message = (
                f"Internal server error. Quote request id {getattr(request, 'request_id', '-')} when reporting it."
            )
        envelope = JsonResponse(error_body(code, message), status=status)
        for header in KEPT_HEADERS:
            if response.has_header(header):
                envelope[header] = response[header]
        return envelope
