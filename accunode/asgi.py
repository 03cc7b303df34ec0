"""ASGI entry point (gunicorn with uvicorn workers)."""

import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")


class SyncStackASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run together in ONE worker-thread hop per request,
    on a request thread that is reused rather than started for every request.

    Every middleware and view here is synchronous. Django's own handler then crosses between the event loop and a
    thread three times per request (into the middleware chain, back to the loop for URL resolution, into the view);
    this one runs the synchronous chain as WSGI would, inside a single ``sync_to_async`` call. The event loop still
    reads requests and writes responses (uvicorn).

    Django's handler also gives every request a new one-thread executor: a thread started for the request and a
    second thread started to join it afterwards. Here a request borrows an idle one-thread executor (its thread keeps
    running between requests) and gives it back when the response is sent; all of one request's synchronous work
    still runs on one thread, and requests in flight together still run on different threads. A database connection
    a request thread keeps between requests (persistent connections, ``DATABASE_POOL=false``) lives as long as the
    thread, as under gunicorn's threaded workers; with the pool (the default) it goes back to the pool after each
    request. ``bench/api_profile.md`` has the measured effect of both.
    """

    #: idle request threads kept per worker process; a burst above this starts threads that end after their request
    max_idle_request_threads = 32

    def __init__(self):
        super().__init__()
        self._idle_executors: list[ThreadPoolExecutor] = []  # touched only from the event loop's thread

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = (
            self._idle_executors.pop()
            if self._idle_executors
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        )
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            # A view still running after its client went away only delays the executor's next request (one thread).
            if len(self._idle_executors) < self.max_idle_request_threads:
                self._idle_executors.append(executor)
            else:
                self._retire(executor)

    def close_idle_request_threads(self) -> None:
        """End the idle request threads, closing their database connections first (shutdown, tests)."""
        while self._idle_executors:
            self._retire(self._idle_executors.pop())

    @staticmethod
    def _retire(executor: ThreadPoolExecutor) -> None:
        executor.submit(connections.close_all)  # the thread's own connections: they are thread-local
        executor.shutdown(wait=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = SyncStackASGIHandler()
