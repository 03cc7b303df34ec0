"""Production: every secret from the environment with no default, HTTPS behind a proxy, pooled PostgreSQL,
Redis-backed cache and sessions, JSON logs. Missing secrets stop the process before it serves anything."""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DATABASES, LOGGING, REDIS_URL, SIMPLE_JWT, env

REQUIRED_ENVIRONMENT = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "JWT_SIGNING_KEY")
_missing = [name for name in REQUIRED_ENVIRONMENT if not env(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(f"Production settings refuse to start: set {', '.join(_missing)} in the environment.")

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# A key of its own: leaking or rotating SECRET_KEY must not mint API tokens, and vice versa.
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY")
if SIMPLE_JWT["SIGNING_KEY"] == SECRET_KEY:
    raise ImproperlyConfigured(
        "Production settings refuse to start: JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY."
    )

# --- HTTPS: TLS ends at the proxy, which says so in X-Forwarded-Proto ------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health$"]  # load balancers probe liveness over plain HTTP
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- CORS: only the origins listed in the environment, never all ---------------------------------------------------
CORS_ALLOW_ALL_ORIGINS = False
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])

# --- PostgreSQL connections: a psycopg pool per process by default ------------------------------------------------
# The pool sets connections up once per process and shares them between its threads (request threads, bulk job
# threads). DATABASE_POOL=false falls back to Django's persistent connections, one per thread.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A statement running longer than this is cancelled (an error, not a hang). gunicorn.conf.py sets 30 s for the
    # web processes, where a request stuck on a lock would hold up the requests queued behind it on its thread;
    # Celery workers and commands (bulk jobs) have no limit unless this is set for them.
    statement_timeout = env.int("DATABASE_STATEMENT_TIMEOUT", default=0)
    if statement_timeout:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={statement_timeout * 1000}"
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections together with a pool
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
        # A health check on every check-out is one more round trip per request (about 12 % of the API's write
        # throughput, bench/api_profile.md). Off by default: a connection that broke while idle (database restart)
        # fails its request once and the pool drops it. DATABASE_POOL_CHECK=true buys that request back.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=False)
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Sessions: cached in Redis and backed by the database (base.py picks cached_db when REDIS_URL is set) ----------
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"

# --- E-mail over SMTP ------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Logs: JSON lines on stdout (request id, user, organization), for the log collector ------------------------------
LOG_FORMAT = env("LOG_FORMAT", default="json")
if LOG_FORMAT not in LOGGING["formatters"]:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOGGING['formatters'])}, not {LOG_FORMAT!r}.")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
