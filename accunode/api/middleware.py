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
