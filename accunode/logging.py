"""Request context for log lines: every record carries the request id, user and organization of its request."""

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
user_id_var: ContextVar[str] = ContextVar("user_id", default="-")
organization_id_var: ContextVar[str] = ContextVar("organization_id", default="-")


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``user_id`` and ``organization_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = user_id_var.get()
        record.organization_id = organization_id_var.get()
        # Django logs a response ("django.request") after the middleware has left, with the request attached:
        # take the request id from there so those lines can be joined with the others too.
        request = getattr(record, "request", None)
        if record.request_id == "-" and request is not None:
            record.request_id = getattr(request, "request_id", "-")
        return True
