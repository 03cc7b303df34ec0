"""Test settings: the embedded default, or real PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI)."""

from .base import *
from .base import SIMPLE_JWT

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
