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
        return True
