"""Domain errors and the one translation of every error into the envelope of API.md.

Services raise ``ApplicationError`` subclasses; DRF raises its own exceptions; Django raises 404s and
``PermissionDenied`` (django-ratelimit's ``Ratelimited`` is one). ``api_exception_handler`` (DRF) and
``envelope_response`` (plain Django views, handler404/500) turn all of them into
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain error with an HTTP status, an envelope code, a human message and optional details."""

    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, headers=None):
        self.message = message or self.default_message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_message = "The request has invalid fields."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class PermissionDeniedError(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class EmailNotVerified(ApplicationError):
    status_code = 403
    code = "email_not_verified"
    default_message = "Verify your e-mail address before logging in."


class QuotaExceeded(ApplicationError):
    status_code = 403
    code = "quota_exceeded"
    default_message = "You have reached your daily prediction limit."


class AuthenticationFailedError(ApplicationError):
    status_code = 401
    code = "authentication_failed"
    default_message = "Incorrect e-mail or password."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The upload is larger than allowed."


class UnsupportedMediaTypeError(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "This media type is not supported here."


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body."


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests. Try again later."

    def __init__(self, retry_after: int = 60, message: str | None = None):
        retry_after = max(1, int(retry_after))
        super().__init__(
            message or f"Too many requests. Try again in {retry_after} seconds.",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "unavailable"
    default_message = "A dependency is unavailable. Try again shortly."


_DRF_CODES: list[tuple[type[Exception], str]] = [
    (InvalidToken, "token_not_valid"),
    (drf_exceptions.NotAuthenticated, "not_authenticated"),
    (drf_exceptions.AuthenticationFailed, "authentication_failed"),
    (drf_exceptions.PermissionDenied, "permission_denied"),
    (drf_exceptions.NotFound, "not_found"),
    (drf_exceptions.MethodNotAllowed, "method_not_allowed"),
    (drf_exceptions.NotAcceptable, "not_acceptable"),
    (drf_exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (drf_exceptions.Throttled, "rate_limited"),
    (drf_exceptions.ParseError, "validation_error"),
    (drf_exceptions.ValidationError, "validation_error"),
]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def envelope_response(request, status: int, code: str, message: str, details=None) -> JsonResponse:
    """The envelope for plain Django views and handlers (outside DRF)."""
    return JsonResponse(error_body(code, message, details), status=status)


def _drf_message(exc: drf_exceptions.APIException, code: str) -> tuple[str, Any]:
    if isinstance(exc, drf_exceptions.ValidationError):
        return "The request has invalid fields.", exc.detail if isinstance(exc.detail, dict) else {
            "non_field_errors": exc.detail
        }
    if isinstance(exc, drf_exceptions.ParseError):
        return f"Malformed request body: {exc.detail}", {}
    if isinstance(exc, InvalidToken):
        return "The token is invalid, expired or revoked.", {}
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("detail", "Request failed.")), {}
    return str(detail), {}


# simplejwt's JWTAuthentication answers a well-formed token whose user changed password since (CHECK_REVOKE_TOKEN),
# was deleted or deactivated with AuthenticationFailed; to the client that token is revoked: 401 token_not_valid.
_REVOKED_TOKEN_CODES = {"password_changed", "user_not_found", "user_inactive"}


def _is_revoked_token(exc: Exception) -> bool:
    if not isinstance(exc, drf_exceptions.AuthenticationFailed) or isinstance(exc, InvalidToken):
        return False
    detail = exc.detail  # simplejwt's detail is {"detail": …, "code": …}
    code = detail.get("code") if isinstance(detail, dict) else getattr(detail, "code", None)
    return str(code) in _REVOKED_TOKEN_CODES


def _invalid_token_like(exc: Exception) -> InvalidToken:
    invalid = InvalidToken()
    invalid.auth_header = getattr(exc, "auth_header", None)  # keep the WWW-Authenticate that DRF attached
    return invalid


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception handler: every error becomes the API.md envelope; unknown errors become a safe 500."""
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code, headers=exc.headers)
    if isinstance(exc, Ratelimited):
        rate_limited = RateLimited(60)
        return Response(
            error_body(rate_limited.code, rate_limited.message, rate_limited.details),
            status=429,
            headers=rate_limited.headers,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, TokenError) or _is_revoked_token(exc):
        exc = _invalid_token_like(exc)
    if isinstance(exc, drf_exceptions.APIException):
        code = next((name for klass, name in _DRF_CODES if isinstance(exc, klass)), "error")
        message, details = _drf_message(exc, code)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf_exceptions.MethodNotAllowed) and context.get("view") is not None:
            headers["Allow"] = ", ".join(context["view"].allowed_methods)
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait:
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, message, details), status=exc.status_code, headers=headers)
    request_id = getattr(request, "request_id", "-")
    logger.exception("Unhandled error in API view", exc_info=exc)
    return Response(
        error_body("server_error", f"Internal server error. Quote request id {request_id} when reporting it."),
        status=500,
    )
