#!/usr/bin/env python
"""Bulk scoring benchmark: upload → job succeeded → rows in PostgreSQL, through the real pipeline.

    .venv/bin/python bench/bulk_bench.py                    # PostgreSQL at 127.0.0.1:5432, Redis broker if reachable
    .venv/bin/python bench/bulk_bench.py --rows 20000 --big-mb 5 --naive-rows 500   # a quick look

What it does (nothing to prepare but a running PostgreSQL; Redis for the Celery runs):

1. Creates and migrates the PostgreSQL database ``accunode_bulk_bench_template``; every scenario then runs in
   ``accunode_bulk_bench``, created afresh from that template, so each one starts from the same empty database
   (earlier scenarios' predictions and companies would otherwise make the later ones write into bigger tables).
2. Generates the files from the shipped data (``mlcore/data/us_bankruptcy_1999_2014.csv.gz``, rows resampled with
   replacement, each given a new company symbol and year so every row is a new prediction): ``--rows`` rows
   (default 100,000) and a file of about ``--big-mb`` MB (default 50, just under the upload limit).
3. Runs each scenario in a fresh child process, each into a new organization, and checks the job succeeded and
   the predictions are in PostgreSQL:
   - ``api``: ``POST /api/v1/predictions/bulk-upload/`` (DRF test client, JWT) with the job run in-process; the
     time is upload + parse + validate + score + store + summaries, until the job has succeeded.
   - ``command``: ``manage.py import_predictions`` on the big file (the same pipeline, synchronously).
   - ``celery`` (when a Redis broker answers): a real ``celery -A accunode worker`` (solo pool) processes the
     upload; the time runs from the POST to the job's ``succeeded`` as seen in the database and starts once the
     worker answers a ping (a production worker is already running; its start-up is not part of a job's time);
     the worker's peak memory (VmHWM) is reported.
   - ``naive``: the same rows one by one through ``predictions.services.prediction_create`` (per-row ORM writes,
     drivers, audit event and company summary per row) on a smaller sample, extrapolated linearly.
4. Writes ``bench/bulk_results.md`` with the figures and the machine. Drops both databases at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "mlcore" / "data" / "us_bankruptcy_1999_2014.csv.gz"
RESULTS = ROOT / "bench" / "bulk_results.md"
DB_NAME = "accunode_bulk_bench"
TEMPLATE_DB_NAME = f"{DB_NAME}_template"
# bulk_results.md: the table above this line is rewritten by every run; the investigation notes below it are kept
KEPT_MARKER = "<!-- written by hand below this line; bulk_bench.py keeps it -->"
PG_SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
BROKER = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
SECTORS = ["Industrials", "Energy", "Technology", "Health Care", "Utilities", "Materials"]


# --- Files ------------------------------------------------------------------------------------------------------------
def generate(rows: int, path: Path, seed: int) -> Path:
    import numpy as np
    import pandas as pd

    from mlcore import FINANCIAL_FIELDS

    with gzip.open(DATA) as handle:
        data = pd.read_csv(handle)
    rng = np.random.default_rng(seed)
    sample = data.iloc[rng.integers(0, len(data), rows)][list(FINANCIAL_FIELDS)].reset_index(drop=True)
    k = np.arange(rows)
    frame = pd.DataFrame(
        {
            "symbol": [f"B{seed}{i // 16:06d}" for i in k],
            "name": [f"Bench {seed} company {i // 16}" for i in k],
            "sector": np.array(SECTORS)[k // 16 % len(SECTORS)],
            "reporting_year": 1999 + k % 16,
        }
    )
    frame = pd.concat([frame, sample], axis=1)
    frame.to_csv(path, index=False, float_format="%.6g")
    return path


def rows_for_size(target_mb: float, sample: Path, sample_rows: int) -> int:
    per_row = sample.stat().st_size / sample_rows
    return int(target_mb * 1024 * 1024 * 0.98 / per_row)


# --- Child processes --------------------------------------------------------------------------------------------------
def child_env(database_url: str, media: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "accunode.settings.local",
        "DATABASE_URL": database_url,
        "ACCUNODE_MEDIA_ROOT": str(media),
        "ACCUNODE_RATE_LIMITING": "false",
        "ACCUNODE_MAX_PREDICTIONS_PER_USER": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "CELERY_BROKER_URL": BROKER,
    }


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_child(scenario: str, file: Path, env: dict[str, str], extra: list[str] | None = None) -> dict:
    """Run one scenario in a fresh process; records the 1-minute load average before and after (it includes this
    benchmark's own child and PostgreSQL backend, about 2 on 2 cores when nothing else runs)."""
    load_before = load_average()
    output = subprocess.run(
        [sys.executable, __file__, "--child", scenario, "--file", str(file), *(extra or [])],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{output.stdout[-2000:]}\n{output.stderr[-4000:]}")
    return {**json.loads(output.stdout.strip().splitlines()[-1]), "load": f"{load_before:.1f} → {load_average():.1f}"}


def _setup_child():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _organization(label: str):
    from accounts.models import User
    from organizations.choices import Role
    from organizations.models import Membership, Organization

    organization = Organization.objects.create(name=f"Bench {label}", slug=f"bench-{label}-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user(email=f"{organization.slug}@bench.local", password=uuid.uuid4().hex)
    user.email_verified = True
    user.default_organization = organization
    user.save()
    Membership.objects.create(user=user, organization=organization, role=Role.ANALYST)
    return organization, user


def _check(job, organization) -> int:
    from predictions.models import Prediction

    assert job.status == "succeeded", (job.status, job.failure_message)
    stored = Prediction.objects.filter(organization=organization, bulk_job=job).count()
    # a few resampled rows of the real data are invalid (e.g. negative balances): they fail, counted exactly
    assert stored == job.succeeded_rows, (stored, job.succeeded_rows)
    assert job.succeeded_rows + job.failed_rows == job.processed_rows == job.total_rows, job.processed_rows
    return stored


def worker_name(queue: str) -> str:
    return f"{queue}@bench"


def _wait_for_worker(app, name: str, timeout: float = 120.0) -> float:
    """Seconds until the worker ``name`` answers a ping (it consumes tasks from then on)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if app.control.ping(destination=[name], timeout=0.5):
            return time.perf_counter() - started
    raise SystemExit(f"the Celery worker {name} did not answer within {timeout:.0f} s")


def child(scenario: str, file: Path, queue: str | None) -> dict:
    _setup_child()
    from django.test import override_settings
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    import mlcore
    from predictions.models import BulkJob

    mlcore.load_models()  # loaded once per process in production too; not part of a job's time
    organization, user = _organization(scenario)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    result: dict = {"scenario": scenario, "file_mb": file.stat().st_size / 1024 / 1024}

    if scenario == "api":
        started = time.perf_counter()
        with (
            override_settings(ACCUNODE_JOBS_IN_PROCESS=True, ACCUNODE_BULK_JOBS_IN_PROCESS_MODE="inline"),
            open(file, "rb") as handle,
        ):
            response = client.post(
                "/api/v1/predictions/bulk-upload/", {"file": handle, "kind": "annual"}, format="multipart"
            )
        assert response.status_code == 202, response.content[:500]
        job = BulkJob.objects.get(pk=response.json()["job"]["id"])
        result["seconds"] = time.perf_counter() - started
    elif scenario == "command":
        from django.core.management import call_command

        started = time.perf_counter()
        try:
            call_command(
                "import_predictions", str(file), organization=organization.slug, kind="annual", no_progress=True
            )
        except SystemExit as exit_:  # 1: some rows failed validation (counted exactly); the real data has a few
            assert exit_.code in (None, 0, 1), exit_.code
        result["seconds"] = time.perf_counter() - started
        job = BulkJob.objects.filter(organization=organization).get()
    elif scenario == "celery":
        from unittest import mock

        from accunode.celery import app
        from predictions.tasks import process_bulk_job

        app.conf.task_always_eager = False
        # The worker was started together with this process; without waiting, its start-up (Django, the models)
        # raced the upload and was sometimes part of the time. The ping also opens this process's broker
        # connection, as any earlier request would have in a long-running web process.
        result["worker_wait_seconds"] = _wait_for_worker(app, worker_name(queue))
        started = time.perf_counter()
        with (
            override_settings(ACCUNODE_JOBS_IN_PROCESS=False),
            mock.patch.object(
                process_bulk_job, "delay", lambda job_id: process_bulk_job.apply_async(args=[job_id], queue=queue)
            ),
            open(file, "rb") as handle,
        ):
            response = client.post(
                "/api/v1/predictions/bulk-upload/", {"file": handle, "kind": "annual"}, format="multipart"
            )
        assert response.status_code == 202, response.content[:500]
        result["upload_seconds"] = time.perf_counter() - started
        job_id = response.json()["job"]["id"]
        while True:
            job = BulkJob.objects.get(pk=job_id)
            if job.is_finished:
                break
            time.sleep(0.02)
        result["seconds"] = time.perf_counter() - started
    elif scenario == "naive":
        import pandas as pd

        from predictions.services import prediction_create

        frame = pd.read_csv(file)
        started = time.perf_counter()
        for row in frame.to_dict("records"):
            financials = {f: (None if pd.isna(row[f]) else float(row[f])) for f in mlcore.FINANCIAL_FIELDS}
            try:
                prediction_create(
                    organization=organization,
                    kind="annual",
                    reporting_year=int(row["reporting_year"]),
                    financials=financials,
                    created_by=user,
                    company_ref={"symbol": row["symbol"], "name": row["name"], "sector": row["sector"]},
                )
            except Exception:  # an invalid row, as the bulk job would count it  # noqa: S112
                continue
        result["seconds"] = time.perf_counter() - started
        result["rows"] = len(frame)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return result
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    result["rows"] = job.processed_rows
    result["stored"] = _check(job, organization)
    result["failed_rows"] = job.failed_rows
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return result


# --- Infrastructure ---------------------------------------------------------------------------------------------------
def create_template_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        for name in (DB_NAME, TEMPLATE_DB_NAME):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB_NAME}"')


def fresh_database() -> None:
    """``DB_NAME`` as a copy of the migrated template: every scenario starts from the same database."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}" TEMPLATE "{TEMPLATE_DB_NAME}"')


def drop_databases() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        for name in (DB_NAME, TEMPLATE_DB_NAME):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def broker_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except Exception:
        return False


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict[str, str]:
    import psycopg

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    with psycopg.connect(f"{PG_SERVER}/postgres") as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{int(memory) / 1024 / 1024:.1f} GiB",
        "Python": platform.python_version(),
        "PostgreSQL": pg_version,
        "OS": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_results(results: list[dict], args, info: dict[str, str], notes: list[str]) -> None:
    lines = [
        "# Bulk scoring benchmark",
        "",
        "`bench/bulk_bench.py` — upload → job succeeded → predictions in PostgreSQL, through the real pipeline.",
        "Every row is a new prediction of a new company-year (rows resampled from the shipped 1999–2014 data).",
        "",
        "| scenario | rows | file MB | seconds | rows/s | peak memory MB | load 1-min before → after | goal |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rows']:,} | {r['file_mb']:.1f} | {r['seconds']:.2f} "
            f"| {r['rows'] / r['seconds']:,.0f} | {r['peak_mb']:.0f} | {r.get('load', '')} | {r.get('goal', '')} |"
        )
    lines += ["", "Notes:", *[f"- {note}" for note in notes], "", "Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [
        "",
        f"Command: `.venv/bin/python bench/bulk_bench.py --rows {args.rows} --big-mb {args.big_mb} "
        f"--naive-rows {args.naive_rows}`",
        "",
    ]
    if not args.no_write:
        kept = RESULTS.read_text().partition(KEPT_MARKER) if RESULTS.exists() else ("", "", "")
        RESULTS.write_text("\n".join(lines) + (f"\n{KEPT_MARKER}{kept[2]}" if kept[1] else ""))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big-mb", type=float, default=50.0)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--no-celery", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/bulk_results.md")
    parser.add_argument("--child")
    parser.add_argument("--file")
    parser.add_argument("--queue")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file), args.queue)
        return

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")
    info = machine()
    create_template_database()
    database_url = f"{PG_SERVER}/{DB_NAME}"
    results: list[dict] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="accunode-bulk-bench-") as tmp:
        tmp_path = Path(tmp)
        env = child_env(database_url, tmp_path / "media")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            env={**env, "DATABASE_URL": f"{PG_SERVER}/{TEMPLATE_DB_NAME}"},
            cwd=ROOT,
            check=True,
        )
        print("generating files…", flush=True)
        small = generate(args.rows, tmp_path / f"rows_{args.rows}.csv", seed=1)
        big_rows = rows_for_size(args.big_mb, small, args.rows)
        big = generate(big_rows, tmp_path / "big.csv", seed=2)
        naive = generate(args.naive_rows, tmp_path / "naive.csv", seed=3)

        print("api …", flush=True)
        fresh_database()
        r = run_child("api", small, env)
        results.append({**r, "label": "API upload, in-process job", "goal": "≥ 20,000 rows/s (< 5 s for 100k)"})
        print(f"    {r['seconds']:.2f} s", flush=True)
        print("command (big file) …", flush=True)
        fresh_database()
        r = run_child("command", big, env)
        results.append({**r, "label": "import_predictions, ~50 MB", "goal": "< 30 s, peak < 1 GB"})
        print(f"    {r['seconds']:.2f} s", flush=True)

        if args.no_celery or not broker_available():
            notes.append(f"Celery runs skipped: no Redis broker answered at {BROKER}.")
        else:
            for label, file, goal in (
                ("API upload → Celery worker", small, "≥ 20,000 rows/s"),
                ("API upload ~50 MB → Celery worker", big, "< 30 s, worker peak < 1 GB"),
            ):
                queue = f"bench-bulk-{uuid.uuid4().hex[:8]}"
                fresh_database()
                worker = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "accunode",
                        "worker",
                        "-P",
                        "solo",
                        "-Q",
                        queue,
                        "-n",
                        worker_name(queue),
                        "-l",
                        "warning",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    env={**env, "ACCUNODE_JOBS_IN_PROCESS": "false"},
                    cwd=ROOT,
                )
                try:
                    print(f"{label} …", flush=True)
                    r = run_child("celery", file, env, ["--queue", queue])
                    r["peak_mb"] = vm_hwm_mb(worker.pid)
                    results.append({**r, "label": label, "goal": goal})
                    print(
                        f"    {r['seconds']:.2f} s, peak {r['peak_mb']:.0f} MB "
                        f"(worker answered {r['worker_wait_seconds']:.2f} s after the child was ready)",
                        flush=True,
                    )
                finally:
                    worker.terminate()
                    worker.wait(30)
            notes.append(
                "Celery rows: time from the POST (upload included) to the job's `succeeded` in the database, "
                "started once the worker answers a ping; peak memory is the worker process's VmHWM (Django + "
                "models + the job). The models load at worker start, before the job."
            )
        if args.naive_rows:
            print("naive …", flush=True)
            fresh_database()
            r = run_child("naive", naive, env)
            print(f"    {r['seconds']:.2f} s", flush=True)
            per_row = r["seconds"] / r["rows"]
            extrapolated = per_row * args.rows
            results.append(
                {
                    **r,
                    "label": f"naive row-by-row ORM ({r['rows']:,} rows measured)",
                    "goal": f"extrapolated to {args.rows:,} rows: {extrapolated:,.0f} s",
                }
            )
            fastest = next(x for x in results if x["scenario"] == "api")
            notes.append(
                f"Naive: `prediction_create` per row (find-or-create company, score with drivers, insert, company "
                f"summary, audit event) on {r['rows']:,} rows, extrapolated linearly to {args.rows:,} rows "
                f"(≈ {extrapolated:,.0f} s); the bulk pipeline is ≈ {extrapolated / fastest['seconds']:,.0f}× "
                f"faster."
            )
        notes.append("Every scenario starts from the same freshly migrated database (a copy of a template).")
        notes.append(
            "In-process and command rows: peak memory is the child process's ru_maxrss (Django, the models, "
            "the test client's copy of the upload for the API run, and the job)."
        )
    drop_databases()
    write_results(results, args, info, notes)


if __name__ == "__main__":
    main()
