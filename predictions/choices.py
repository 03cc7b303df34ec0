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
