#!/bin/sh
# Container entry point.
#   web     (default) migrate the database unless DJANGO_MIGRATE_ON_START=false, then exec gunicorn with
#           uvicorn workers (gunicorn.conf.py; PORT, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS, ...)
#   worker  exec a Celery worker (CELERY_CONCURRENCY, default 2; CELERY_LOG_LEVEL, default info)
#   other   exec the given command, e.g. `python manage.py seed_demo`
set -eu

cd /app

case "${1:-web}" in
    web)
        if [ "${DJANGO_MIGRATE_ON_START:-true}" = "true" ]; then
            # Several web replicas may start at once: one migrates, the others wait for its lock.
            python docker/migrate.py
        fi
        exec gunicorn -c gunicorn.conf.py accunode.asgi:application
        ;;
    worker)
        exec celery -A accunode worker -l "${CELERY_LOG_LEVEL:-info}" --concurrency "${CELERY_CONCURRENCY:-2}"
        ;;
    *)
        exec "$@"
        ;;
esac
