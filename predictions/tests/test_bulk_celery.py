"""Bulk jobs through a REAL Celery worker (Redis broker, PostgreSQL test database): end to end, and a worker
killed with SIGKILL mid-job — the task is redelivered after the visibility timeout and the job ends with exactly
one prediction per valid row.

Needs CELERY_BROKER_URL (or REDIS_URL) and a PostgreSQL DATABASE_URL, as CI sets them; skipped otherwise. Each
test uses its own queue, so no other worker on the same broker can take its tasks.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accunode.api.testing import client_for, make_member
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions import bulk
from predictions.choices import BulkJobStatus
from predictions.models import BulkJob, BulkJobChunk, Prediction
from predictions.tests.bulk_files import create_bulk_job, csv_bytes, read_results
from predictions.tests.test_bulk_pipeline import mixed_rows

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
VISIBILITY_TIMEOUT = 3
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BROKER_URL, reason="needs a Redis broker: set CELERY_BROKER_URL (CI does)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot share the test's SQLite database: set DATABASE_URL to PostgreSQL")


@pytest.fixture
def queue(settings):
    """A queue of this test alone; tasks are sent to it and the workers listen only to it."""
    from accunode.celery import app
    from predictions.tasks import process_bulk_job

    settings.ACCUNODE_JOBS_IN_PROCESS = False
    name = f"bulk-test-{uuid.uuid4().hex[:10]}"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # the test settings run tasks in-process; these go to the broker
    try:
        with mock.patch.object(
            process_bulk_job, "delay", lambda job_id: process_bulk_job.apply_async(args=[job_id], queue=name)
        ):
            yield name
    finally:
        app.conf.task_always_eager = eager
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """``celery -A accunode worker`` on the test database, one process (solo pool), killable."""

    def __init__(self, queue: str, log: Path):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "accunode.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        }
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
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
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(queue: str) -> Worker:
        worker = Worker(queue, tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    log = tmp_path / "worker.log"
    if log.exists():
        print(log.read_text(errors="replace")[-3000:])  # shown when the test fails


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def finished(job_id):
    return BulkJob.objects.filter(pk=job_id, status__in=["succeeded", "failed", "cancelled"]).first()


@pytest.fixture(autouse=True)
def _remove_job_files():
    """The worker reads the files from the test settings' MEDIA_ROOT: remove this test's uploads afterwards."""
    yield
    for job in BulkJob.objects.all():
        job.file.delete(save=False)


def test_upload_is_processed_by_a_celery_worker(queue, workers):
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)
    workers(queue)
    rows, expected = mixed_rows(2_000)
    response = client_for(analyst).post(
        "/api/v1/predictions/bulk-upload/",
        {"file": SimpleUploadedFile("rows.csv", csv_bytes(rows)), "kind": "annual"},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    job = wait_for(lambda: finished(job_id), 60, "the job")
    assert job.status == BulkJobStatus.SUCCEEDED, job.failure_message
    assert (job.processed_rows, job.failed_rows, job.succeeded_rows) == (2_000, len(expected), 2_000 - len(expected))
    assert Prediction.objects.filter(bulk_job=job).count() == 2_000 - len(expected)
    download = client_for(analyst).get(f"/api/v1/jobs/{job_id}/results/")
    results = read_results(b"".join(download.streaming_content))
    assert sum(row["status"] == "created" for row in results) == 2_000 - len(expected)


def test_a_worker_killed_mid_job_is_replaced_and_every_valid_row_is_stored_once(queue, workers):
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)
    rows, expected = mixed_rows(24_000)
    chunk_size = 1_000
    job = create_bulk_job(organization, analyst, csv_bytes(rows), name="big.csv", chunk_size=chunk_size)
    first = workers(queue)
    bulk.bulk_job_enqueue(job)  # on commit (autocommit here): sent to the queue now
    wait_for(
        lambda: BulkJob.objects.filter(pk=job.pk, processed_rows__gte=chunk_size).exists(), 90, "a committed chunk"
    )
    first.kill()
    killed = BulkJob.objects.get(pk=job.pk)
    assert killed.status == BulkJobStatus.RUNNING, "the job must still be running when its worker dies"
    assert 0 < killed.processed_rows < 24_000

    # the broker hands the unacknowledged task out again once its visibility timeout has passed
    # (the delivery happened before the job was claimed: started_at bounds it)
    redelivery = killed.started_at.timestamp() + VISIBILITY_TIMEOUT + 1.0
    time.sleep(max(0.0, redelivery - time.time()))
    workers(queue)
    job = wait_for(lambda: finished(job.pk), 120, "the resumed job")
    assert job.status == BulkJobStatus.SUCCEEDED, job.failure_message
    valid_rows = 24_000 - len(expected)
    assert job.attempt >= 2
    assert (job.processed_rows, job.succeeded_rows, job.failed_rows) == (24_000, valid_rows, len(expected))
    assert Prediction.objects.filter(bulk_job=job).count() == valid_rows
    assert Prediction.objects.filter(organization=organization).count() == valid_rows
    assert BulkJobChunk.objects.filter(job=job).count() == math.ceil(24_000 / chunk_size)
