"""Rate limits on the shared cache (django-ratelimit), with ``Retry-After`` on every 429.

Views call ``enforce_rate_limit`` with a named limit of ``settings.ACCUNODE_RATE_LIMITS`` and the value that
identifies the client (address, e-mail, user). Counters live in the default cache: Redis in production, so every
process and instance shares them.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django_ratelimit.core import get_usage

from .exceptions import RateLimited


def client_ip(request) -> str:
    """The client address: from the configured trusted proxy header (first hop), else ``REMOTE_ADDR``."""
    header = settings.ACCUNODE_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        first_hop = forwarded.split(",")[0].strip()
        if first_hop:
            return first_hop
    return request.META.get("REMOTE_ADDR") or "unknown"


def enforce_rate_limit(request, *, limit_name: str, value: str) -> None:
    """Count one hit of ``value`` against the named limit; raise ``RateLimited`` when it is exceeded."""
    rate = settings.ACCUNODE_RATE_LIMITS[limit_name]
    hashed_value = hashlib.sha256(value.strip().lower().encode()).hexdigest()
    usage = get_usage(
        request,
        group=f"accunode:{limit_name}",
        key=lambda _group, _request: hashed_value,
        rate=rate,
        increment=True,
    )
    if usage and usage["should_limit"]:
        raise RateLimited(retry_after=max(1, usage["time_left"]))
