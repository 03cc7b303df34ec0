"""``manage.py import_predictions FILE --organization SLUG --kind annual|quarterly`` — the bulk pipeline, run
synchronously with a progress bar; exit status 1 when rows failed (2 when the job itself failed)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from accunode.api.exceptions import ApplicationError
from organizations.models import Organization
from predictions import bulk
from predictions.choices import BulkJobStatus, OnDuplicate, PredictionKind


class Command(BaseCommand):
    help = "Score and store every row of a CSV/XLSX file (the bulk upload pipeline, run here and now)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8) or XLSX file with the bulk upload columns of API.md.")
        parser.add_argument("--organization", required=True, help="Slug of the organization that owns the rows.")
        parser.add_argument("--kind", required=True, choices=PredictionKind.values)
        parser.add_argument("--user", help="E-mail of the user recorded as creator (optional).")
        parser.add_argument("--on-duplicate", default=OnDuplicate.SKIP, choices=OnDuplicate.values)
        parser.add_argument("--chunk-size", type=int, default=bulk.DEFAULT_CHUNK_SIZE, help="Rows per transaction.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. in logs).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['organization']!r}.")
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with e-mail {options['user']!r}.")
        with open(path, "rb") as handle:
            try:
                job = bulk.bulk_job_create(
                    organization=organization,
                    created_by=user,
                    kind=options["kind"],
                    on_duplicate=options["on_duplicate"],
                    upload=File(handle, name=str(path)),
                    file_name=path.name,
                    chunk_size=options["chunk_size"],
                )
            except ApplicationError as error:
                details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.details.items())
                raise CommandError(f"{error.message} {details}".strip()) from None

        bar = tqdm(
            total=None,
            unit="rows",
            unit_scale=True,
            disable=options["no_progress"],
            file=sys.stderr,
            desc=path.name,
        )
        started = time.perf_counter()

        def progress(current) -> None:
            if current.total_rows and bar.total != current.total_rows:
                bar.total = current.total_rows
                bar.refresh()
            bar.update(current.processed_rows - bar.n)
            bar.set_postfix(ok=current.succeeded_rows, failed=current.failed_rows, skipped=current.skipped_rows)

        job = bulk.bulk_job_run(job.pk, progress=progress)
        bar.close()
        elapsed = time.perf_counter() - started
        rate = job.processed_rows / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"Job {job.pk}: {job.status}. {job.processed_rows} rows in {elapsed:.1f} s ({rate:,.0f} rows/s): "
            f"{job.created_rows} created, {job.updated_rows} updated, {job.skipped_rows} skipped, "
            f"{job.failed_rows} failed."
        )
        for error in job.errors[:20]:
            self.stdout.write(f"  row {error['row']}: {error['field']}: {error['message']}")
        if job.error_count > 20:
            self.stdout.write(f"  … {job.error_count - 20} more errors (results: /api/v1/jobs/{job.pk}/results/)")
        if job.failure_message:
            self.stderr.write(job.failure_message)
        if job.status != BulkJobStatus.SUCCEEDED:
            sys.exit(2)
        if job.failed_rows:
            sys.exit(1)
