"""Settings shared by every environment, read from the environment with django-environ."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

ACCUNODE_VERSION = "0.1.0"

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "accounts",
    "organizations",
    "companies",
    "predictions",
    "mlcore",
]

MIDDLEWARE = [
    "accunode.api.middleware.RequestIdMiddleware",
    "accunode.api.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accunode.api.middleware.LogContextMiddleware",
]

ROOT_URLCONF = "accunode.urls"
WSGI_APPLICATION = "accunode.wsgi.application"
ASGI_APPLICATION = "accunode.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: embedded SQLite unless DATABASE_URL names a server -----------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set, else in-process memory -------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="accunode"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    DJANGO_REDIS_CONNECTION_FACTORY = "accunode.cache_clients.SharedClientConnectionFactory"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "accunode"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Auth -------------------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("ACCUNODE_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# --- E-mail -----------------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="AccuNode <no-reply@accunode.local>")
ACCUNODE_PUBLIC_URL = env("ACCUNODE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
ACCUNODE_EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)
ACCUNODE_INVITATION_TTL = timedelta(days=7)

# --- REST API ---------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["accunode.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "accunode.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accunode.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": False,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # A key of its own: leaking or rotating SECRET_KEY must not mint API tokens, and vice versa.
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=""),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Every token carries a hash of the password: changing it revokes access tokens too.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AccuNode API",
    "DESCRIPTION": "Probability of default within one year from financial statements. Contract: docs/API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "PREPROCESSING_HOOKS": ["accunode.api.schema.drop_switched_off_endpoints"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accunode.api.schema.add_common_error_responses",
        "accunode.api.schema.add_response_headers",
    ],
}

# --- CORS -------------------------------------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "x-organization",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("etag", "retry-after", "x-request-id", "location")

# --- Rate limiting (django-ratelimit on the shared cache) -------------------------------------------------------------
RATELIMIT_ENABLE = env.bool("ACCUNODE_RATE_LIMITING", default=True)
RATELIMIT_USE_CACHE = "default"
# Header that carries the client address when behind a trusted proxy, e.g. HTTP_X_FORWARDED_FOR; empty = REMOTE_ADDR.
ACCUNODE_CLIENT_IP_HEADER = env("ACCUNODE_CLIENT_IP_HEADER", default="")
ACCUNODE_RATE_LIMITS = {
    "login_ip": "10/m",
    "login_email": "5/m",
    "register_ip": "5/m",
    "refresh_ip": "30/m",
    "prediction_write_user": "120/m",
    "bulk_upload_user": "20/h",
    "api_user": "1200/m",
}

# --- Product switches and limits (API.md "Limits and switches") -------------------------------------------------------
# The principal cache (organizations.principals) needs a cache every process shares: with the in-process one, a change
# made in one process (another gunicorn worker, a management command) could not invalidate the others' copies.
ACCUNODE_PRINCIPAL_CACHE = env.bool("ACCUNODE_PRINCIPAL_CACHE", default=bool(REDIS_URL))
# Request threads per ASGI worker process (accunode/asgi.py): requests queue for them first come, first served.
ACCUNODE_REQUEST_THREADS = env.int("ACCUNODE_REQUEST_THREADS", default=1)
ACCUNODE_ENABLE_BULK_UPLOAD = env.bool("ACCUNODE_ENABLE_BULK_UPLOAD", default=True)
ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS = env.bool("ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS", default=True)
ACCUNODE_MAX_PREDICTIONS_PER_USER = env.int("ACCUNODE_MAX_PREDICTIONS_PER_USER", default=1000)
ACCUNODE_BULK_UPLOAD_MAX_SIZE_MB = env.int("ACCUNODE_BULK_UPLOAD_MAX_SIZE_MB", default=50)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Celery: Redis broker when REDIS_URL is set; otherwise bulk jobs run in-process -----------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
ACCUNODE_JOBS_IN_PROCESS = not CELERY_BROKER_URL or env.bool("ACCUNODE_JOBS_IN_PROCESS", default=False)
# Without a broker: "thread" runs a job in a background thread of the web process (progress visible while it runs),
# "inline" runs it inside the upload request (scripts, tests).
ACCUNODE_BULK_JOBS_IN_PROCESS_MODE = env("ACCUNODE_BULK_JOBS_IN_PROCESS_MODE", default="thread")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = ACCUNODE_JOBS_IN_PROCESS

# --- Logging: JSON lines with request id, user and organization -------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "accunode.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(organization_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
