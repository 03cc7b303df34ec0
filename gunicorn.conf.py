"""Gunicorn in production: ASGI Django (``accunode.asgi:application``) on uvicorn workers.

Every knob comes from the environment so the same file serves a laptop, a container and a VM:
``gunicorn -c gunicorn.conf.py accunode.asgi:application``.
"""

import math
import os
from pathlib import Path

MAX_DEFAULT_WORKERS = 8  # each worker holds its own copy of the scoring models: memory, not CPU, is the limit


def _available_cpus() -> int:
    """CPUs this process may use: the cgroup v2 quota in a container (``cpu.max``), else the affinity mask."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_env_int('PORT', 8000)}"  # noqa: S104 - a container listens on all
worker_class = "uvicorn_worker.UvicornWorker"
workers = _env_int("WEB_CONCURRENCY", min(2 * _available_cpus(), MAX_DEFAULT_WORKERS))

# Web requests give up on a PostgreSQL statement after 30 s (accunode/settings/production.py): each worker runs its
# requests one after another (ACCUNODE_REQUEST_THREADS), so one stuck on a lock would hold up the others, and
# gunicorn's timeout below does not see it (the worker's event loop keeps answering).
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "30")

# A request slower than this is killed; bulk scoring runs in Celery, never in a request.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so slow leaks cannot grow forever; the jitter keeps them from restarting together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Trust X-Forwarded-For/-Proto only from the load balancer's addresses (comma-separated, "*" for any).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stdout/stderr for the container runtime; Django's own records are JSON lines (LOG_FORMAT).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Temporary worker heartbeat files in memory, not on a possibly slow overlay filesystem.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - gunicorn's documented advice

# gunicorn's control socket (for ``gunicornc``) defaults to $HOME/.gunicorn, which the non-root container user cannot
# write and which two instances on one machine would share: off unless a path is given.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def post_worker_init(worker) -> None:
    """Before its first request, each worker loads the scoring models, then freezes what it holds (``gc.freeze``) and
    collects its youngest objects ten times less often.

    Loading here spares the first scoring request of each worker about a second. Freezing matters for latency: a
    worker holds about 200,000 long-lived objects (Django, DRF, pandas, scikit-learn, the models), and every full
    collection of the cyclic garbage collector walked all of them, pausing the worker's requests for 60–300 ms several
    times a minute under load. Frozen objects are never walked again; what requests leave behind still is. A request
    allocates more than the default 700 objects, so the collector ran more than once per request and walked the
    objects of the requests in flight again and again; 7,000 cut its CPU per request by about a quarter
    (``bench/api_profile.md``)."""
    import gc
    import logging

    import mlcore

    try:
        mlcore.load_models()
    except mlcore.ModelArtefactError:  # the health check and every scoring request report it
        logging.getLogger("accunode").exception("Scoring models unavailable at worker start")
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)
