"""ASGI entry point (gunicorn with uvicorn workers)."""

import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")


class SyncStackASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run together in ONE worker-thread hop per request,
    on a small fixed set of request threads per worker process.

    Every middleware and view here is synchronous. Django's own handler then crosses between the event loop and a
    thread three times per request (into the middleware chain, back to the loop for URL resolution, into the view);
    this one runs the synchronous chain as WSGI would, inside a single ``sync_to_async`` call. The event loop still
    reads requests (whole bodies, before any thread is involved) and writes responses (uvicorn).

    Django's handler also starts a new thread for every request (and a second one to join it), and runs all requests
    in flight at once, each on its own thread: under load they share the worker's one interpreter lock in turns, so
    every request of a busy worker takes as long as all of them. Here each worker has ``ACCUNODE_REQUEST_THREADS``
    request threads (default 1); a request queues for the least busy one and runs on it from start to end, first
    come, first served, as in gunicorn's classic sync worker but with keep-alive and request bodies handled by the
    event loop. Measured: POST p99 127–152 → 80–118 ms at 16 clients, same throughput (``bench/api_profile.md``).
    A request that is slow in Python (or waits on a slow service) delays the requests queued behind it on its thread;
    raise the setting where that matters more than latency under load. A request thread's database connection goes
    back to the pool after each request (``DATABASE_POOL``, the default); persistent connections stay with their
    thread.
    """

    def __init__(self, request_threads: int | None = None):
        super().__init__()
        count = max(1, request_threads or settings.ACCUNODE_REQUEST_THREADS)
        self._request_threads = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="request") for _ in range(count)]
        self._queued = [0] * count  # requests queued on or running on each thread; touched only by the event loop

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        index = min(range(len(self._queued)), key=self._queued.__getitem__)
        self._queued[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self._request_threads[index]):
                await self.handle(scope, receive, send)
        finally:
            self._queued[index] -= 1

    def close_database_connections(self) -> None:
        """Close the request threads' database connections (they are thread-local), e.g. before a test database is
        dropped; each thread closes its own once the requests queued before it are done."""
        for executor in self._request_threads:
            executor.submit(connections.close_all).result()

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = SyncStackASGIHandler()
