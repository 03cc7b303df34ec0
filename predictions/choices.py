"""Choices of the predictions app, defined once."""

from django.db import models


class PredictionKind(models.TextChoices):
    ANNUAL = "annual", "Annual"
    QUARTERLY = "quarterly", "Quarterly"


class Annualization(models.TextChoices):
    TTM = "ttm", "Trailing twelve months"
    X4 = "x4", "Quarter × 4"


class PredictionSource(models.TextChoices):
    SINGLE = "single", "Single request"
    BULK = "bulk", "Bulk job"


QUARTER_LABELS = {1: "Q1", 2: "Q2", 3: "Q3", 4: "Q4"}


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


BULK_JOB_ACTIVE_STATUSES = (BulkJobStatus.QUEUED, BulkJobStatus.RUNNING)


class OnDuplicate(models.TextChoices):
    """What a bulk job does with a row whose company and period already have a prediction."""

    SKIP = "skip", "Skip the row"
    UPDATE = "update", "Re-score the existing prediction"
    ERROR = "error", "Fail the row"


class BulkFileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
