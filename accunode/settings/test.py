"""Test settings: the embedded default, or real PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI)."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *
from .base import CACHES, REDIS_URL, SIMPLE_JWT

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
SIMPLE_JWT["SIGNING_KEY"] = "test-jwt-signing-key-not-for-production-abcdef"
# Fast hashing keeps the suite quick; production uses Django's default PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCUNODE_PUBLIC_URL = "http://testserver"
MEDIA_ROOT = BASE_DIR / ".test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"
# CI sets CELERY_BROKER_URL (real Redis, so the health check's queue probe is real), but no worker runs during the
# suite: queued tasks execute in the test process, as in the embedded default.
CELERY_TASK_ALWAYS_EAGER = True
# Tests run in one process (per xdist worker), where the in-process cache is shared by every request: the principal
# cache is on with either backend, so query budgets and invalidation are tested the same way everywhere.
ACCUNODE_PRINCIPAL_CACHE = True

# With a real Redis (CI), pytest-xdist workers must not share a Redis database: the suite clears the cache around
# every test (django-redis flushes the whole database), which would wipe the other worker's rate-limit counters
# mid-test. Each worker gets its own database, 8 + its number (Redis has 16).
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker.startswith("gw"):
    _redis = urlsplit(REDIS_URL)
    _database = 8 + int(_xdist_worker[2:]) % 8
    CACHES["default"]["LOCATION"] = urlunsplit(_redis._replace(path=f"/{_database}"))
