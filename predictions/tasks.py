"""Celery tasks of the predictions app (declared with ``@shared_task``; only ``accunode.celery`` knows the app).

``process_bulk_job`` is acknowledged late and rejected when its worker dies, so a job whose worker is killed is
delivered again (after the broker's visibility timeout) and resumes from its committed cursor
(``predictions.bulk.bulk_job_run``). Database hiccups retry with backoff; a job that exhausts its retries fails.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from . import bulk

MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="predictions.process_bulk_job",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def process_bulk_job(self, job_id: str) -> None:
    """Run (or resume) one bulk job to its end."""
    try:
        bulk.bulk_job_run(job_id)
    except DatabaseError:
        if self.request.retries >= MAX_RETRIES:
            bulk.bulk_job_fail(job_id, "The job stopped on repeated database errors; the rows processed are stored.")
            return
        raise
