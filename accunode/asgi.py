"""ASGI entry point (gunicorn with uvicorn workers)."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")


class SyncStackASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run together in ONE worker-thread hop per request.

    Every middleware and view here is synchronous. Django's own handler then crosses between the event loop and a
    thread three times per request (into the middleware chain, back to the loop for URL resolution, into the view);
    this one runs the synchronous chain as WSGI would, inside a single ``sync_to_async`` call. The event loop still
    reads requests and writes responses (uvicorn). ``bench/api_profile.md`` has the measured effect.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = SyncStackASGIHandler()
