"""The embedded default: SQLite, in-process cache and jobs, console e-mail. For a laptop, never for production."""

from .base import *
from .base import SIMPLE_JWT, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-dev-only-not-secret-5b0e1a7c9d2f4e6a8b3c")
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default="local-dev-only-jwt-key-9f8e7d6c5b4a39281706")
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
