"""Cached reads with ETags, invalidated by a per-organization data version that every write bumps.

Services call ``organization_data_changed(organization_id)`` after any write to tenant data; every cached read
of that organization then misses, because the version is part of its key. ``CachedReadMixin`` serves list and
retrieve from the shared cache (Redis in production) and answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import uuid

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from rest_framework import status

from accunode.api.renderers import render_json

READ_CACHE_SECONDS = 300


def _version_key(organization_id) -> str:
    return f"orgdata:version:{organization_id}"


def organization_data_version(organization_id) -> str:
    version = cache.get(_version_key(organization_id))
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(_version_key(organization_id), version, None):
            version = cache.get(_version_key(organization_id)) or version
    return version


def organization_data_changed(organization_id) -> None:
    """Invalidate every cached read of the organization (call after any committed write)."""
    cache.set(_version_key(organization_id), uuid.uuid4().hex, None)


def _if_none_match(request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


class CachedReadMixin:
    """List and retrieve answered from the cache when the organization's data has not changed; ETag / 304.

    A hit is one cache round trip: the page and the organization's data version are read together, and a page
    stored under another version (the data changed since) is rebuilt."""

    def _cached(self, request, build):
        organization_id = request.organization.pk
        key = "read:v4:" + hashlib.sha256(f"{organization_id}:{request.get_full_path()}".encode()).hexdigest()
        found = cache.get_many([key, _version_key(organization_id)])
        version = found.get(_version_key(organization_id)) or organization_data_version(organization_id)
        entry = found.get(key)
        if entry is None or entry["version"] != version:
            response = build()
            if response.status_code != status.HTTP_200_OK:
                return response
            # The rendered body and its ETag are stored: a hit then costs a cache read and no JSON work at all.
            body = render_json(response.data)
            entry = {"version": version, "body": body, "etag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"'}
            cache.set(key, entry, READ_CACHE_SECONDS)
        etag = entry["etag"]
        if etag in _if_none_match(request) or "*" in _if_none_match(request):
            return HttpResponseNotModified(headers={"ETag": etag})
        return HttpResponse(
            entry["body"],
            content_type="application/json",
            headers={"ETag": etag, "Cache-Control": "private, no-cache"},
        )

    def list(self, request, *args, **kwargs):
        return self._cached(request, lambda: super(CachedReadMixin, self).list(request, *args, **kwargs))

    def retrieve(self, request, *args, **kwargs):
        return self._cached(request, lambda: super(CachedReadMixin, self).retrieve(request, *args, **kwargs))
