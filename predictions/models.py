"""Predictions: one scored financial statement of a company for a year (annual) or a quarter (quarterly)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform

from accunode import jsoncodec
from organizations.models import OrgScopedModel

from .choices import Annualization, BulkFileFormat, BulkJobStatus, OnDuplicate, PredictionKind, PredictionSource
from .ids import uuid7


class FastJSONField(models.JSONField):
    """A ``JSONField`` whose stored documents are decoded by ``accunode.jsoncodec`` (orjson): a list page reads 200
    of them. Key transforms and custom decoders keep Django's own decoding."""

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str) and self.decoder is None and not isinstance(expression, KeyTransform):
            try:
                return jsoncodec.loads(value)
            except ValueError:  # as Django does: a value that is not JSON is returned as it is
                return value
        return super().from_db_value(value, expression, connection)


class JSONTextField(FastJSONField):
    """A ``JSONField`` kept as PostgreSQL ``json`` (the document's text, checked) rather than ``jsonb``: a bulk job
    writes 100,000s of documents with ``COPY``, and building ``jsonb`` costs PostgreSQL ~0.6 CPU-seconds per 100,000
    rows more. For documents that are only ever read and written whole: ``json`` has no containment, key-existence
    or equality operators (nothing filters, groups or sorts on these columns). Writes are Django's, as for any
    ``JSONField`` (``jsonb`` literals, stored through the built-in ``jsonb`` → ``json`` assignment cast)."""

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):  # psycopg decodes json (with jsoncodec: PredictionsConfig)
            return value
        return super().from_db_value(value, expression, connection)


class Prediction(OrgScopedModel):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)  # time-ordered: see predictions.ids
    # No single-column indexes on organization and company: the composite indexes below start with those columns
    # (pred_org_kind_*, pred_latest_per_company) and serve their lookups and cascades.
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="predictions", db_index=False
    )
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="predictions", db_index=False
    )
    kind = models.CharField(max_length=10, choices=PredictionKind.choices)
    reporting_year = models.PositiveSmallIntegerField()
    reporting_quarter = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–4; null for annual.")
    financials = JSONTextField(help_text="The statement as given (quarterly: the quarter's own flows).")
    ratios = FastJSONField(
        null=True,
        blank=True,
        help_text="The model's features of the statement. Bulk predictions fill ratios and drivers on first retrieval.",
    )
    probability = models.FloatField()
    risk_level = models.CharField(max_length=10)
    rating = models.CharField(max_length=4)
    model_version = models.CharField(max_length=64)
    components = JSONTextField(default=dict)
    drivers = FastJSONField(null=True, blank=True, help_text="Computed on first view for bulk predictions.")
    annualization = models.CharField(max_length=3, choices=Annualization.choices, null=True, blank=True)
    source = models.CharField(max_length=8, choices=PredictionSource.choices, default=PredictionSource.SINGLE)
    bulk_job = models.ForeignKey(
        "predictions.BulkJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predictions",
        help_text="The bulk job that last wrote this prediction (null for single predictions).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "company", "kind", "reporting_year"],
                condition=Q(kind=PredictionKind.ANNUAL),
                name="unique_annual_prediction",
            ),
            models.UniqueConstraint(
                fields=["organization", "company", "kind", "reporting_year", "reporting_quarter"],
                condition=Q(kind=PredictionKind.QUARTERLY),
                name="unique_quarterly_prediction",
            ),
            models.CheckConstraint(
                condition=(Q(kind=PredictionKind.ANNUAL, reporting_quarter__isnull=True))
                | (Q(kind=PredictionKind.QUARTERLY, reporting_quarter__gte=1, reporting_quarter__lte=4)),
                name="prediction_quarter_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0.0, probability__lte=1.0), name="prediction_probability_in_unit_interval"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "-created_at"], name="pred_org_kind_created"),
            models.Index(fields=["organization", "kind", "probability"], name="pred_org_kind_probability"),
            models.Index(fields=["organization", "kind", "reporting_year"], name="pred_org_kind_year"),
            models.Index(fields=["organization", "kind", "risk_level"], name="pred_org_kind_risk"),
            models.Index(
                fields=["company", "kind", "-reporting_year", "-reporting_quarter"], name="pred_latest_per_company"
            ),
        ]

    def __str__(self) -> str:
        period = f"{self.reporting_year}" + (f" Q{self.reporting_quarter}" if self.reporting_quarter else "")
        return f"{self.kind} {period} of company {self.company_id}"

    @property
    def reporting_quarter_label(self) -> str | None:
        return f"Q{self.reporting_quarter}" if self.reporting_quarter else None


class PredictionUsage(models.Model):
    """Single predictions a user made on one UTC day, against ``ACCUNODE_MAX_PREDICTIONS_PER_USER``: counted up in
    the transaction that creates one, never down (deleting a prediction does not give it back). Per user, across
    organizations; re-scores (PUT) and bulk jobs are not counted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="unique_prediction_usage_per_day")]

    def __str__(self) -> str:
        return f"{self.count} predictions by user {self.user_id} on {self.day}"


def bulk_upload_path(job: "BulkJob", filename: str) -> str:
    """``bulk/<organization id>/<job id>.<csv|xlsx>``: the client's file name is kept on the job, never in a path."""
    return f"bulk/{job.organization_id}/{job.pk}.{job.file_format}"


class BulkJob(OrgScopedModel):
    """One uploaded file scored in the background. Progress (``processed_rows``, the resume cursor) and the counts
    are committed together with each chunk's predictions, so a retried job resumes exactly where it stopped."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=PredictionKind.choices)
    status = models.CharField(max_length=10, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED)
    file = models.FileField(upload_to=bulk_upload_path, max_length=255)
    file_name = models.CharField(max_length=255, help_text="The file name the client uploaded.")
    file_format = models.CharField(max_length=4, choices=BulkFileFormat.choices, default=BulkFileFormat.CSV)
    on_duplicate = models.CharField(max_length=6, choices=OnDuplicate.choices, default=OnDuplicate.SKIP)
    chunk_size = models.PositiveIntegerField(default=20_000, help_text="Rows per committed chunk.")
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0, help_text="Rows committed so far: the resume cursor.")
    succeeded_rows = models.PositiveIntegerField(default=0)
    created_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text='The first 100 {"row", "field", "message"}.')
    error_count = models.PositiveIntegerField(default=0, help_text="All row errors, also beyond the first 100.")
    failure_message = models.TextField(blank=True, help_text="Why the whole job failed, if it did.")
    cancel_requested = models.BooleanField(default=False)
    attempt = models.PositiveIntegerField(default=0, help_text="Executions started; the latest one owns the job.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="bulkjob_org_created")]

    def __str__(self) -> str:
        return f"{self.kind} bulk job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (BulkJobStatus.SUCCEEDED, BulkJobStatus.FAILED, BulkJobStatus.CANCELLED)


class BulkJobChunk(models.Model):
    """The outcome of each row of one committed chunk (for the results file), written in the chunk's transaction;
    unique per (job, first row), so a replayed chunk cannot be counted twice."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="chunks")
    first_row = models.PositiveIntegerField(help_text="0-based position of the chunk's first data row.")
    row_count = models.PositiveIntegerField()
    outcomes = models.JSONField(help_text="status, probability and error per row of the chunk.")

    class Meta:
        ordering = ["job", "first_row"]
        constraints = [models.UniqueConstraint(fields=["job", "first_row"], name="unique_bulk_job_chunk")]

    def __str__(self) -> str:
        return f"rows {self.first_row}–{self.first_row + self.row_count - 1} of job {self.job_id}"
