"""Streaming responses that stay streamed under ASGI (gunicorn + uvicorn) as well as under WSGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest


async def iterate_in_thread(parts: Iterator) -> AsyncIterator:
    """An asynchronous iterator over ``parts``, each step run in the request's thread (database access allowed).

    Under ASGI, Django consumes a *synchronous* streaming iterator whole, into memory, before sending anything: a
    results file of 400,000 rows would sit in the web worker's memory. Stepping it from the event loop sends each
    part as soon as it is made."""
    step = sync_to_async(next, thread_sensitive=True)
    done = object()
    while (part := await step(parts, done)) is not done:
        yield part


def streaming_content_for(request, parts: Iterator):
    """``parts`` as the streaming content that suits the server: asynchronous under ASGI, as is under WSGI."""
    django_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    return iterate_in_thread(parts) if isinstance(django_request, ASGIRequest) else parts
