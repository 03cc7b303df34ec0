#!/usr/bin/env python
"""HTTP benchmark of the companies and predictions API, against a production-like local stack.

    .venv/bin/python bench/api_bench.py                      # WEB_CONCURRENCY 2 and 4, 15 s per phase
    .venv/bin/python bench/api_bench.py --workers 2 --duration 5 --warmup 2   # a quick look

What it does, end to end (nothing to prepare but a running PostgreSQL and Redis):

1. Drops and creates a PostgreSQL database (``accunode_bench``), migrates it, and creates an organization with a
   verified analyst (Django ORM and services, in a child process) — once per gunicorn configuration, so every
   configuration starts from the same empty database.
2. Starts ``gunicorn -c gunicorn.conf.py accunode.asgi:application`` (uvicorn workers, ``WEB_CONCURRENCY`` workers)
   on 127.0.0.1 with ``accunode.settings.production``: DEBUG off, generated secrets, pooled PostgreSQL, Redis cache
   under a key prefix of its own, JSON logs at WARNING, access log off. Plain HTTP (``DJANGO_SECURE_SSL_REDIRECT=
   false``). ``ACCUNODE_RATE_LIMITING=false`` and ``ACCUNODE_MAX_PREDICTIONS_PER_USER=0``, because the per-user
   limits (120 prediction writes a minute, 1000 a day) are far below what is measured. ``GUNICORN_MAX_REQUESTS=0``:
   with the default of 2000, each worker would restart every few seconds at these rates (see the results).
3. Logs in (``POST /api/v1/auth/login/``) for a JWT, then drives load with the client below:
   ``POST /api/v1/predictions/annual/`` with a new company-year on every request at 1, 16 and 64 concurrent
   clients, then ``GET /api/v1/predictions/annual/?page_size=50&min_probability=0.001&ordering=-probability`` at 16
   clients, once with the same URL (served from the read cache) and once with a different ``min_probability`` on
   every request (cache miss: database query and serialization). Each phase has a warm-up that is not counted.
4. Writes ``bench/api_results.json`` and ``bench/api_results.md``: throughput, latency percentiles, status counts,
   CPU split (load generator / gunicorn / rest of the machine) and the machine.
5. Stops gunicorn, drops the database and deletes its Redis keys, also on Ctrl-C or failure.

The load generator is a small HTTP/1.1 keep-alive client on asyncio from the standard library (one connection per
virtual client), so the bench needs nothing the repository does not install and spends little CPU of its own: it
shares the machine's cores with the server, PostgreSQL and Redis, and its CPU share is reported.

The model artefacts (``mlcore/artefacts``) must exist; the bench waits for them (``--wait-models``) when they are
being trained.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))

from mlcore.fields import EXAMPLE_FINANCIALS  # noqa: E402 - the project root is on the path only now

GOALS = {
    "post_rps_16": 300.0,  # POST annual at 16 clients: at least this many requests a second
    "post_p99_ms_16": 100.0,  # ... with a 99th percentile at most this
    "get_rps_16": 500.0,  # GET list of 50 at 16 clients
}

LIST_PATH = "/api/v1/predictions/annual/?page_size=50&min_probability=0.001&ordering=-probability"
POST_PATH = "/api/v1/predictions/annual/"

# The example statement of API.md (USD millions); each request perturbs it a little.
SAMPLE_FINANCIALS = EXAMPLE_FINANCIALS
INCOME_ITEMS = ("ebitda", "ebit", "net_income", "retained_earnings")
YEARS_PER_COMPANY = 120  # reporting years 1901..2020 of one company before the client moves to a new symbol


# ---------------------------------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 keep-alive client (asyncio streams). Enough for our own server: Content-Length or chunked bodies.
# ---------------------------------------------------------------------------------------------------------------------
class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                await self._open()
            try:
                return await self._exchange(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                self.close()
                # A keep-alive connection the server closed while idle: retry once on a new one. Never retry a
                # request sent on a fresh connection (the server may have processed it).
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1."):
            raise HttpError(f"bad status line {head[:40]!r}")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        if "content-length" in response_headers:
            data = await self.reader.readexactly(int(response_headers["content-length"]))
        elif response_headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(chunks)
        elif status in (204, 304) or method == "HEAD":
            data = b""
        else:
            data = await self.reader.read()
            self.close()
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, data


@dataclass
class PhaseStats:
    latencies: list[float] = field(default_factory=list)  # seconds, requests that started inside the window
    statuses: dict[str, int] = field(default_factory=dict)
    sample_errors: list[str] = field(default_factory=list)

    def record(self, status: str, latency: float, detail: str | None = None) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if detail and len(self.sample_errors) < 5:
            self.sample_errors.append(detail[:300])


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


# ---------------------------------------------------------------------------------------------------------------------
# CPU accounting from /proc, to show how the two cores were shared.
# ---------------------------------------------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as fh:
        values = [float(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    return sum(values[:8]) - idle, sum(values[:8])


def _process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) of ``root_pid`` and its children now alive."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (float(fields[11]) + float(fields[12])) / CLOCK_TICKS
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0.0) for pid in tree)


class CpuMeter:
    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.sys0 = _system_cpu()
        self.own0 = time.process_time()
        self.server0 = _process_tree_cpu(self.server_pid)

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        busy1, total1 = _system_cpu()
        busy0, total0 = self.sys0
        cores = os.cpu_count() or 1
        machine = 100.0 * (busy1 - busy0) / max(total1 - total0, 1e-9)  # % of all cores
        loadgen = 100.0 * (time.process_time() - self.own0) / wall / cores
        server = 100.0 * (_process_tree_cpu(self.server_pid) - self.server0) / wall / cores
        return {
            "machine_busy_pct": round(machine, 1),
            "gunicorn_pct": round(server, 1),
            "loadgen_pct": round(loadgen, 1),
            "other_pct": round(max(machine - server - loadgen, 0.0), 1),
        }


# ---------------------------------------------------------------------------------------------------------------------
# Load phases
# ---------------------------------------------------------------------------------------------------------------------
def _status_key(status: int) -> str:
    return str(status)


async def run_phase(
    *,
    host: str,
    port: int,
    clients: int,
    warmup: float,
    duration: float,
    make_request,
    cpu: CpuMeter | None,
) -> dict:
    """``clients`` virtual clients, each on its own keep-alive connection, loop ``make_request(client, n)`` for
    ``warmup`` s (not counted) and then ``duration`` s. Requests started inside the window are counted.

    The clients connect one after another, spread over the first half of the warm-up, as clients of a service do,
    not all in the same millisecond: a burst of simultaneous connects is accepted by whichever worker wakes first,
    which can then hold all of them while the other workers idle (seen: 2 workers, 16 clients, the machine 62 %
    busy). Such a burst is a real, separate limitation of the server (``bench/api_profile.md``)."""
    stats = PhaseStats()
    loop = asyncio.get_running_loop()
    start_at = loop.time() + warmup
    end_at = start_at + duration
    cpu_box: dict = {}

    connect_spacing = warmup / 2 / max(clients, 1)

    async def client(index: int) -> None:
        connection = Connection(host, port)
        n = 0
        await asyncio.sleep(index * connect_spacing)
        try:
            while True:
                now = loop.time()
                if now >= end_at:
                    return
                counted = now >= start_at
                method, path, headers, body = make_request(index, n)
                n += 1
                t0 = time.perf_counter()
                try:
                    status, data = await connection.request(method, path, headers, body)
                except (OSError, asyncio.IncompleteReadError, HttpError) as error:
                    if counted:
                        stats.record("connection_error", time.perf_counter() - t0, repr(error))
                    await asyncio.sleep(0.05)
                    continue
                latency = time.perf_counter() - t0
                if counted:
                    ok = 200 <= status < 300
                    stats.record(_status_key(status), latency, None if ok else data.decode(errors="replace"))
        finally:
            connection.close()

    async def meter() -> None:
        await asyncio.sleep(max(start_at - loop.time(), 0))
        if cpu is not None:
            cpu.start()
        await asyncio.sleep(max(end_at - loop.time(), 0))
        if cpu is not None:
            cpu_box.update(cpu.stop())

    meter_task = asyncio.create_task(meter())
    await asyncio.gather(*(client(i) for i in range(clients)))
    await meter_task
    finished = loop.time()
    window = max(finished - start_at, 1e-9)  # includes the tail of requests started before end_at
    latencies = sorted(stats.latencies)
    ok = sum(count for status, count in stats.statuses.items() if status.startswith("2"))
    ms = lambda value: None if value is None else round(value * 1000, 1)  # noqa: E731
    return {
        "clients": clients,
        "duration_s": round(window, 2),
        "requests": len(latencies),
        "ok": ok,
        "errors": len(latencies) - ok,
        "status_counts": dict(sorted(stats.statuses.items())),
        "throughput_rps": round(ok / window, 1),
        "latency_ms": {
            "p50": ms(percentile(latencies, 50)),
            "p90": ms(percentile(latencies, 90)),
            "p99": ms(percentile(latencies, 99)),
            "max": ms(latencies[-1] if latencies else None),
            "mean": ms(sum(latencies) / len(latencies) if latencies else None),
        },
        "cpu": cpu_box,
        "sample_errors": stats.sample_errors,
    }


def post_request_factory(token: str, tag: str, seed: int):
    """Every request a company-year never seen before: client ``c`` scores company ``{tag}C{c}N{k}`` for reporting
    years 1901.. in turn (a new company every YEARS_PER_COMPANY requests). Clients never share a company, so the
    measured contention is the server's, not row locks on one company."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    rng = random.Random(seed)

    def make(client: int, n: int):
        symbol = f"{tag}C{client}N{n // YEARS_PER_COMPANY}"
        financials = dict(SAMPLE_FINANCIALS)
        for item in INCOME_ITEMS:
            financials[item] = round(financials[item] * rng.uniform(-0.5, 1.5), 3)
        financials["total_assets"] = round(financials["total_assets"] * rng.uniform(0.8, 1.6), 3)
        payload = {
            "company": {"symbol": symbol, "name": f"{symbol} Corp", "sector": rng.choice(SECTORS)},
            "reporting_year": 1901 + n % YEARS_PER_COMPANY,
            "financials": financials,
        }
        return "POST", POST_PATH, headers, json.dumps(payload, separators=(",", ":")).encode()

    return make


SECTORS = ("Industrials", "Energy", "Utilities", "Technology", "Retail")


def get_request_factory(token: str, *, bust_cache: bool):
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    counter = iter(range(1, 1 << 62))

    def make(client: int, n: int):
        if not bust_cache:
            return "GET", LIST_PATH, headers, b""
        # Same filter in effect (the data's probabilities are far above it), a URL never asked before: cache miss.
        threshold = f"{0.001 + next(counter) * 1e-12:.15f}"
        return "GET", LIST_PATH.replace("min_probability=0.001", f"min_probability={threshold}"), headers, b""

    return make


# ---------------------------------------------------------------------------------------------------------------------
# The stack: database, setup, gunicorn
# ---------------------------------------------------------------------------------------------------------------------
def admin_connect(admin_url: str):
    import psycopg

    return psycopg.connect(admin_url, autocommit=True)


def database_recreate(admin_url: str, name: str) -> None:
    from psycopg import sql

    with admin_connect(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(admin_url: str, name: str) -> None:
    from psycopg import sql

    with admin_connect(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(admin_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def redis_delete_prefix(redis_url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        deleted += client.delete(key)
    client.close()
    return deleted


def server_environment(args, *, db_name: str, workers: int, cache_prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):  # nothing of the caller's Django/AccuNode configuration leaks into the run
        if name.startswith(("DJANGO_", "ACCUNODE_", "GUNICORN_", "DATABASE_", "JWT_", "CELERY_")):
            del env[name]
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "accunode.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url(args.pg_admin_url, db_name),
            "REDIS_URL": args.redis_url,
            "CELERY_BROKER_URL": args.redis_url,
            "CACHE_KEY_PREFIX": cache_prefix,
            "ACCUNODE_RATE_LIMITING": "false",
            "ACCUNODE_MAX_PREDICTIONS_PER_USER": "0",
            "JWT_ACCESS_MINUTES": "120",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "HOST": "127.0.0.1",
            "PORT": str(args.port),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_ACCESS_LOG": "",
            "GUNICORN_MAX_REQUESTS": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def setup_child() -> None:
    """Runs in a child process with the server's environment: an organization and a verified analyst."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from organizations.choices import Role
    from organizations.models import Membership
    from organizations.services import organization_create

    User = get_user_model()
    password = os.environ["BENCH_PASSWORD"]

    def user(email: str, full_name: str):
        account = User(email=email, full_name=full_name, email_verified=True, is_active=True)
        account.set_password(password)
        account.save()
        return account

    owner = user("owner@bench.accunode.local", "Bench Owner")
    organization = organization_create(name="Bench Capital", created_by=owner)
    owner.default_organization = organization
    owner.save(update_fields=["default_organization"])
    analyst = user("analyst@bench.accunode.local", "Bench Analyst")
    Membership.objects.create(organization=organization, user=analyst, role=Role.ANALYST)
    analyst.default_organization = organization
    analyst.save(update_fields=["default_organization"])
    print(json.dumps({"organization": str(organization.pk), "email": analyst.email}))


def run_checked(command: list[str], env: dict[str, str], label: str) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{label} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def wait_for_models(env: dict[str, str], max_wait: float) -> None:
    """The model artefacts may be being trained: wait for them (poll every 60 s) rather than fail every POST."""
    probe = [PYTHON, "-c", 'import mlcore; mlcore.model_version("annual")']  # the bench scores annual only
    deadline = time.monotonic() + max_wait
    while True:
        result = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return
        if time.monotonic() >= deadline:
            raise SystemExit(f"Model artefacts not loadable after {max_wait:.0f} s:\n{result.stderr[-2000:]}")
        print(f"  models not loadable yet ({result.stderr.strip().splitlines()[-1][:160]}); retrying in 60 s")
        time.sleep(60)


class Server:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None

    def start(self, host: str, port: int, timeout: float = 90.0) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise SystemExit(f"Port {port} is already in use; pick another with --port.")
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "accunode.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the master and its workers, nothing else
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            with contextlib.suppress(OSError):
                status, _ = asyncio.run(simple_request(host, port, "GET", "/health"))
                if status == 200:
                    return
            time.sleep(0.5)
        raise SystemExit(f"gunicorn did not answer /health within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


async def simple_request(host, port, method, path, headers=None, body=b""):
    connection = Connection(host, port)
    try:
        return await asyncio.wait_for(connection.request(method, path, headers or {}, body), timeout=30)
    finally:
        connection.close()


def login(host: str, port: int, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    status, data = asyncio.run(
        simple_request(host, port, "POST", "/api/v1/auth/login/", {"Content-Type": "application/json"}, body)
    )
    if status != 200:
        raise SystemExit(f"login failed: {status} {data[:500]!r}")
    return json.loads(data)["access"]


def warm_models(host: str, port: int, token: str, workers: int, max_wait: float) -> None:
    """A few POSTs so that every worker has loaded the models; a 500 (artefacts missing) waits and retries."""
    deadline = time.monotonic() + max_wait
    make = post_request_factory(token, "WARM", seed=1)
    n = 0
    while True:
        statuses = []
        for _ in range(4 * workers):
            method, path, headers, body = make(0, n)
            n += 1
            status, data = asyncio.run(simple_request(host, port, method, path, headers, body))
            statuses.append(status)
        if all(status == 201 for status in statuses):
            return
        if time.monotonic() >= deadline:
            raise SystemExit(f"POST still failing after {max_wait:.0f} s: {statuses}, last body {data[:500]!r}")
        print(f"  POST answers {sorted(set(statuses))} (models missing?); retrying in 60 s")
        time.sleep(60)


# ---------------------------------------------------------------------------------------------------------------------
# Machine and versions
# ---------------------------------------------------------------------------------------------------------------------
def cpu_probe_ms() -> float:
    """A fixed piece of pure-Python work, timed (best of 5): how fast this machine's cores are right now. Shared
    virtual machines drift (the same code measured 2x slower an hour apart here), so runs compare only when their
    probes are close."""
    import timeit

    return round(min(timeit.repeat("sum(range(1_000_000))", number=20, repeat=5)) / 20 * 1000, 1)


def machine_info(args) -> dict:
    cpu_model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    info = {
        "cpu_model": cpu_model,
        "cpus_online": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    versions = run_checked(
        [
            PYTHON,
            "-c",
            "import django, rest_framework, gunicorn, uvicorn, psycopg, json, importlib.util; "
            "print(json.dumps({'django': django.get_version(), 'djangorestframework': rest_framework.VERSION, "
            "'gunicorn': gunicorn.__version__, 'uvicorn': uvicorn.__version__, 'psycopg': psycopg.__version__, "
            "'http': 'httptools' if importlib.util.find_spec('httptools') else 'h11', "
            "'loop': 'uvloop' if importlib.util.find_spec('uvloop') else 'asyncio'}))",
        ],
        dict(os.environ),
        "version probe",
    )
    info.update(json.loads(versions))
    with admin_connect(args.pg_admin_url) as conn:
        info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    import redis

    client = redis.Redis.from_url(args.redis_url)
    info["redis"] = client.info("server")["redis_version"]
    client.close()
    return info


# ---------------------------------------------------------------------------------------------------------------------
# One gunicorn configuration, and the whole run
# ---------------------------------------------------------------------------------------------------------------------
def bench_configuration(args, workers: int, log_dir: Path) -> dict:
    host, port = "127.0.0.1", args.port
    cache_prefix = f"accunode-bench-{secrets.token_hex(4)}"
    env = server_environment(args, db_name=args.db_name, workers=workers, cache_prefix=cache_prefix)
    password = secrets.token_urlsafe(18)
    server = Server(env, log_dir / f"gunicorn-{workers}w.log")
    result: dict = {"workers": workers, "phases": []}
    try:
        result["cpu_probe_ms"] = cpu_probe_ms()
        print(f"[{workers} workers] CPU probe {result['cpu_probe_ms']} ms; database {args.db_name}: set up")
        database_recreate(args.pg_admin_url, args.db_name)
        run_checked([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], env, "migrate")
        setup = json.loads(
            run_checked([PYTHON, str(Path(__file__).resolve()), "_setup"], {**env, "BENCH_PASSWORD": password}, "setup")
        )
        wait_for_models(env, args.wait_models)
        print(f"[{workers} workers] starting gunicorn on {host}:{port}")
        server.start(host, port)
        token = login(host, port, setup["email"], password)
        warm_models(host, port, token, workers, args.wait_models)
        cpu = CpuMeter(server.process.pid)

        def phase(name: str, clients: int, make) -> None:
            print(f"[{workers} workers] {name}, {clients} clients: {args.warmup:g} s warm-up + {args.duration:g} s")
            figures = asyncio.run(
                run_phase(
                    host=host,
                    port=port,
                    clients=clients,
                    warmup=args.warmup,
                    duration=args.duration,
                    make_request=make,
                    cpu=cpu,
                )
            )
            figures["name"] = name
            lat = figures["latency_ms"]
            print(
                f"    {figures['throughput_rps']:>7} req/s  p50 {lat['p50']} ms  p90 {lat['p90']} ms  "
                f"p99 {lat['p99']} ms  statuses {figures['status_counts']}  cpu {figures['cpu']}"
            )
            result["phases"].append(figures)

        for index, clients in enumerate(args.post_clients):
            phase("POST annual (new company-year)", clients, post_request_factory(token, f"P{index}", seed=index))
        result["predictions_in_database"] = prediction_count(env)
        result["vacuum_analyze_s"] = vacuum_analyze(env)
        phase("GET list, cache hits (same URL)", args.get_clients, get_request_factory(token, bust_cache=False))
        phase("GET list, cache misses (varying filter)", args.get_clients, get_request_factory(token, bust_cache=True))
    finally:
        server.stop()
        if not args.keep_database:
            database_drop(args.pg_admin_url, args.db_name)
        with contextlib.suppress(Exception):
            redis_delete_prefix(args.redis_url, cache_prefix)
    return result


def prediction_count(env: dict[str, str]) -> int:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM predictions_prediction").fetchone()[0]


def vacuum_analyze(env: dict[str, str]) -> float:
    """``VACUUM (ANALYZE)`` of the database the POST phases filled, before the GET phases: what autovacuum does in
    production after that many inserts. Without it (autovacuum is off on some machines, this one included) the planner
    has no statistics and counts a list's rows through the heap instead of the probability index."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 2)


def write_results(report: dict) -> None:
    (BENCH_DIR / "api_results.json").write_text(json.dumps(report, indent=1) + "\n")
    (BENCH_DIR / "api_results.md").write_text(render_markdown(report))


def render_markdown(report: dict) -> str:
    m, cfg = report["machine"], report["config"]
    out = [
        "# API benchmark results",
        "",
        f"Generated by `bench/api_bench.py` on {report['date']} (command: `{report['command']}`). "
        "Re-run it to refresh this file; the figures are only comparable on the same machine.",
        "",
        "## Goals (issue *Companies and predictions API*, Speed)",
        "",
        f"- `POST /api/v1/predictions/annual/` at 16 clients: ≥ {GOALS['post_rps_16']:.0f} req/s and "
        f"p99 ≤ {GOALS['post_p99_ms_16']:.0f} ms.",
        f"- `GET /api/v1/predictions/annual/` (list of 50 with filters) at 16 clients: "
        f"≥ {GOALS['get_rps_16']:.0f} req/s.",
        "",
        "| workers | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for config in report["results"]:
        for goal in config["goals"]:
            met = "yes" if goal["met"] else "**no**"
            out.append(f"| {config['workers']} | {goal['goal']} | {goal['measured']} | {met} |")
    out += [
        "",
        "## Figures",
        "",
        f"Each phase: {cfg['warmup_s']:g} s warm-up (not counted), then {cfg['duration_s']:g} s measured; "
        "latency is client-side, from sending the request to the last byte of the response; req/s counts 2xx "
        "answers only. CPU columns are shares of all the machine's cores during the measured window: gunicorn "
        "(master + workers), the load generator, and everything else (PostgreSQL, Redis, other processes).",
        "",
        "| workers | phase | clients | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors (by status) "
        "| CPU busy % | gunicorn % | loadgen % | other % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for config in report["results"]:
        for p in config["phases"]:
            lat, cpu = p["latency_ms"], p.get("cpu", {})
            errors = {s: n for s, n in p["status_counts"].items() if not s.startswith("2")}
            out.append(
                f"| {config['workers']} | {p['name']} | {p['clients']} | {p['throughput_rps']} | {lat['p50']} | "
                f"{lat['p90']} | {lat['p99']} | {lat['max']} | {p['requests']} | "
                f"{p['errors']}{' ' + json.dumps(errors) if errors else ''} | {cpu.get('machine_busy_pct', '')} | "
                f"{cpu.get('gunicorn_pct', '')} | {cpu.get('loadgen_pct', '')} | {cpu.get('other_pct', '')} |"
            )
    out += [""]
    for config in report["results"]:
        if "predictions_in_database" in config:
            out.append(
                f"- {config['workers']} workers: {config['predictions_in_database']} annual predictions in the "
                "organization when the GET phases ran (the list query filters and sorts all of them)."
            )
        if "vacuum_analyze_s" in config:
            out.append(
                f"- {config['workers']} workers: `VACUUM (ANALYZE)` before the GET phases took "
                f"{config['vacuum_analyze_s']} s (what autovacuum does in production after that many inserts)."
            )
        if "cpu_probe_ms" in config:
            out.append(
                f"- {config['workers']} workers: CPU probe {config['cpu_probe_ms']} ms before the run (best of 5 × "
                "`sum(range(1_000_000))`; lower is faster; compare runs only when their probes are close)."
            )
    samples = [(c["workers"], p["name"], e) for c in report["results"] for p in c["phases"] for e in p["sample_errors"]]
    if samples:
        out += ["", "Sample error bodies:", ""]
        out += [f"- {w} workers, {name}: `{body}`" for w, name, body in samples[:10]]
    out += [
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpus_usable']} usable cores ({m['cpus_online']} online); "
        f"RAM {m['ram_gib']} GiB; Linux {m['kernel']}",
        f"- Load average when the bench started: {m['load_average_at_start']} (other processes on the machine are not "
        "stopped by the bench; the *other %* column shows what they and the database took)",
        f"- Python {m['python']}, Django {m['django']}, DRF {m['djangorestframework']}, gunicorn {m['gunicorn']}, "
        f"uvicorn {m['uvicorn']} (uvicorn worker, {m.get('http', 'h11')}, {m.get('loop', 'asyncio')}), "
        f"psycopg {m['psycopg']}",
        f"- PostgreSQL {m['postgresql']}, Redis {m['redis']}, both local on the same machine",
        "- The load generator (asyncio, one keep-alive connection per client, standard library only) runs on the same "
        "cores as the server, PostgreSQL and Redis.",
        "",
        "## Configuration of the run",
        "",
        "- `DJANGO_SETTINGS_MODULE=accunode.settings.production` with generated secrets: DEBUG off, psycopg pool "
        "(default 1–10 connections per worker), Redis cache (own key prefix, deleted afterwards), JSON logs at "
        "`LOG_LEVEL=WARNING`, gunicorn access log off (`GUNICORN_ACCESS_LOG=`), plain HTTP "
        "(`DJANGO_SECURE_SSL_REDIRECT=false`).",
        "- `ACCUNODE_RATE_LIMITING=false` and `ACCUNODE_MAX_PREDICTIONS_PER_USER=0`: one user at these rates is far "
        "above the per-user limits (120 prediction writes a minute, 1000 predictions a day). With rate limiting on, "
        "every API request also pays one Redis round trip per limit it counts (two for a prediction write).",
        "- `GUNICORN_MAX_REQUESTS=0`: with the default (2000 ± 200 per worker) and 2 workers at the goal of 300 "
        "req/s, each worker would restart every ~13 s, and a restart reloads Django and the models.",
        "- POST: every request a new company-year (client *c* scores its own companies, a new one every "
        f"{YEARS_PER_COMPANY} reporting years, so one request in {YEARS_PER_COMPANY} also creates a company); the "
        "statement is the API.md example with income items and total assets perturbed at random.",
        "- GET cache hits: the same URL every time, answered from the Redis read cache (still JWT verification, the "
        "caller's user and memberships from the principal cache, the role check, and the ~145 KB page read from "
        "Redis with its data version). Cache misses: `min_probability` differs on every request "
        "(0.001 + n·1e-12, the same rows), so each request queries PostgreSQL and serializes 50 predictions.",
        "- Every configuration starts from a fresh database; POST phases run 1, 16, 64 clients in that order, so the "
        "later phases write into a larger table. Before the GET phases the bench runs `VACUUM (ANALYZE)`, as "
        "autovacuum would in production (it may be off on a bench machine): without statistics PostgreSQL counts a "
        "list's rows through the table instead of the probability index (8.4 → 2.0 ms per count at 7,331 rows).",
        "",
        "Where the time goes, and what was changed: `bench/api_profile.md`.",
        "",
    ]
    return "\n".join(out)


def evaluate_goals(config: dict, post_clients: list[int], get_clients: int) -> list[dict]:
    goals = []
    post16 = next((p for p in config["phases"] if p["name"].startswith("POST") and p["clients"] == 16), None)
    if post16:
        goals.append(
            {
                "goal": f"POST ≥ {GOALS['post_rps_16']:.0f} req/s at 16 clients",
                "measured": f"{post16['throughput_rps']} req/s",
                "met": post16["throughput_rps"] >= GOALS["post_rps_16"],
            }
        )
        p99 = post16["latency_ms"]["p99"]
        goals.append(
            {
                "goal": f"POST p99 ≤ {GOALS['post_p99_ms_16']:.0f} ms at 16 clients",
                "measured": f"{p99} ms",
                "met": p99 is not None and p99 <= GOALS["post_p99_ms_16"],
            }
        )
    if get_clients == 16:
        for phase in config["phases"]:
            if phase["name"].startswith("GET"):
                goals.append(
                    {
                        "goal": f"{phase['name']} ≥ {GOALS['get_rps_16']:.0f} req/s at 16 clients",
                        "measured": f"{phase['throughput_rps']} req/s",
                        "met": phase["throughput_rps"] >= GOALS["get_rps_16"],
                    }
                )
    return goals


def parse_args(argv: list[str]) -> argparse.Namespace:
    ints = lambda text: [int(x) for x in text.split(",") if x.strip()]  # noqa: E731
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=ints, default=[2, 4], help="WEB_CONCURRENCY values to run (default 2,4)")
    parser.add_argument("--post-clients", type=ints, default=[1, 16, 64], help="POST concurrency levels (1,16,64)")
    parser.add_argument("--get-clients", type=int, default=16, help="GET list concurrency (16)")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per phase (15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted warm-up seconds per phase (3)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db-name", default="accunode_bench")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a database URL of a role that may create databases",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    parser.add_argument("--wait-models", type=float, default=25 * 60, help="seconds to wait for model artefacts")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/api_results.*")
    parser.add_argument("--render-only", action="store_true", help="rewrite api_results.md from api_results.json")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    if argv[:1] == ["_setup"]:
        setup_child()
        return
    args = parse_args(argv)
    if args.render_only:
        (BENCH_DIR / "api_results.md").write_text(
            render_markdown(json.loads((BENCH_DIR / "api_results.json").read_text()))
        )
        return

    def interrupted(signum, _frame):
        raise KeyboardInterrupt  # unwinds through every finally: gunicorn stopped, database dropped

    signal.signal(signal.SIGTERM, interrupted)
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python bench/api_bench.py", *argv]),
        "machine": machine_info(args),
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "post_clients": args.post_clients,
            "get_clients": args.get_clients,
            "settings": "accunode.settings.production",
            "rate_limiting": False,
            "max_predictions_per_user": 0,
            "log_level": "WARNING",
            "access_log": False,
            "gunicorn_max_requests": 0,
        },
        "goals": GOALS,
        "results": [],
    }
    with tempfile.TemporaryDirectory(prefix="accunode-bench-") as log_dir:
        for workers in args.workers:
            try:
                config = bench_configuration(args, workers, Path(log_dir))
            except BaseException:
                log = Path(log_dir) / f"gunicorn-{workers}w.log"
                if log.exists():
                    print(f"--- last lines of the gunicorn log ---\n{log.read_text()[-3000:]}", file=sys.stderr)
                raise
            config["goals"] = evaluate_goals(config, args.post_clients, args.get_clients)
            report["results"].append(config)
    if args.no_write:
        print(json.dumps(report, indent=1))
    else:
        write_results(report)
        print(f"wrote {BENCH_DIR / 'api_results.md'} and {BENCH_DIR / 'api_results.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
