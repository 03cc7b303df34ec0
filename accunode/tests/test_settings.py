"""Production settings: refuse to start without their secrets, pass ``check --deploy`` with zero warnings, and
configure pooling, sessions, CORS and logs from the environment.

Settings are module-level code, so each case runs in a fresh interpreter with a controlled environment.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent

PRODUCTION_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "accunode.settings.production",
    "DJANGO_SECRET_KEY": "test-only-production-secret-3f9c1a7e5b2d4c6e8a0b1d3f5a7c9e1b3d5f7a9c",
    "JWT_SIGNING_KEY": "test-only-production-jwt-key-8e6c4a2b0d9f7e5c3a1b9d7f5e3c1a0b8d6f4e2c",
    "DJANGO_ALLOWED_HOSTS": "accunode.example.com,api.accunode.example.com",
    "DATABASE_URL": "postgres://accunode:secret@db.internal:5432/accunode",
}
REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "JWT_SIGNING_KEY")

# Importing the settings module is enough to see what it decides (and much faster than loading every app).
IMPORT_SETTINGS = "import accunode.settings.production"
# What a settings subprocess prints: the values under test, as JSON.
DUMP_SETTINGS = """
import json
import accunode.settings.production as settings
database = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CONN_MAX_AGE": database["CONN_MAX_AGE"],
    "POOL": database.get("OPTIONS", {}).get("pool"),
    "CONNECTION_OPTIONS": database.get("OPTIONS", {}).get("options"),
    "SESSION_ENGINE": settings.SESSION_ENGINE,
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "CORS_ALLOWED_ORIGINS": settings.CORS_ALLOWED_ORIGINS,
    "CORS_ALLOW_ALL_ORIGINS": settings.CORS_ALLOW_ALL_ORIGINS,
    "LOG_FORMATTER": settings.LOGGING["handlers"]["console"]["formatter"],
    "JWT_KEY_DIFFERS": settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
}))
"""


def run_python(args: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``python args`` in the project directory with only a neutral base environment plus ``environment``."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "JWT_", "CORS_", "ACCUNODE_", "DATABASE_", "LOG_"))
        and key not in ("REDIS_URL", "CELERY_BROKER_URL", "PYTEST_XDIST_WORKER")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_settings(**overrides: str) -> dict:
    completed = run_python(["-c", DUMP_SETTINGS], {**PRODUCTION_ENVIRONMENT, **overrides})
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("missing", REQUIRED)
def test_refuses_to_start_without_each_required_variable(missing):
    environment = {key: value for key, value in PRODUCTION_ENVIRONMENT.items() if key != missing}

    completed = run_python(["-c", IMPORT_SETTINGS], environment)

    message = completed.stderr.strip().splitlines()[-1]
    assert completed.returncode != 0
    assert message.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert missing in message
    assert not [name for name in REQUIRED if name != missing and name in message]


def test_an_empty_value_counts_as_missing():
    completed = run_python(["-c", IMPORT_SETTINGS], {**PRODUCTION_ENVIRONMENT, "DJANGO_SECRET_KEY": ""})

    assert completed.returncode != 0
    assert "DJANGO_SECRET_KEY" in completed.stderr


def test_refuses_a_jwt_key_equal_to_the_secret_key():
    environment = {**PRODUCTION_ENVIRONMENT, "JWT_SIGNING_KEY": PRODUCTION_ENVIRONMENT["DJANGO_SECRET_KEY"]}

    completed = run_python(["-c", IMPORT_SETTINGS], environment)

    assert completed.returncode != 0
    assert "JWT_SIGNING_KEY must differ" in completed.stderr


def test_check_deploy_has_zero_warnings():
    completed = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**PRODUCTION_ENVIRONMENT, "REDIS_URL": "redis://cache.internal:6379/1"},
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "System check identified no issues" in output


def test_defaults_pool_postgres_connections_and_log_json():
    values = production_settings()

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["accunode.example.com", "api.accunode.example.com"]
    assert values["POOL"] == {"min_size": 1, "max_size": 10, "timeout": 10}
    assert values["CONN_MAX_AGE"] == 0  # Django refuses persistent connections together with a pool
    assert values["LOG_FORMATTER"] == "json"
    assert values["JWT_KEY_DIFFERS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["CORS_ALLOWED_ORIGINS"] == []
    assert values["CORS_ALLOW_ALL_ORIGINS"] is False


def test_statements_have_no_time_limit_unless_one_is_given():
    assert production_settings()["CONNECTION_OPTIONS"] is None
    assert production_settings(DATABASE_STATEMENT_TIMEOUT="30")["CONNECTION_OPTIONS"] == "-c statement_timeout=30000"


def test_persistent_connections_instead_of_a_pool_when_asked():
    values = production_settings(DATABASE_POOL="false", DATABASE_CONN_MAX_AGE="120")

    assert values["POOL"] is None
    assert values["CONN_MAX_AGE"] == 120


def test_redis_backs_cache_and_sessions():
    with_redis = production_settings(REDIS_URL="redis://cache.internal:6379/1")
    without_redis = production_settings()

    assert with_redis["CACHE_BACKEND"] == "django_redis.cache.RedisCache"
    assert with_redis["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert without_redis["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_cors_allow_list_comes_from_the_environment():
    values = production_settings(CORS_ALLOWED_ORIGINS="https://app.example.com,https://partner.example.org")

    assert values["CORS_ALLOWED_ORIGINS"] == ["https://app.example.com", "https://partner.example.org"]
    assert values["CORS_ALLOW_ALL_ORIGINS"] is False


def test_unknown_log_format_is_refused():
    completed = run_python(["-c", IMPORT_SETTINGS], {**PRODUCTION_ENVIRONMENT, "LOG_FORMAT": "xml"})

    assert completed.returncode != 0
    assert "LOG_FORMAT" in completed.stderr
