"""Predictions: one scored financial statement of a company for a year (annual) or a quarter (quarterly)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from organizations.models import OrgScopedModel

from .choices import Annualization, PredictionKind, PredictionSource


class Prediction(OrgScopedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="predictions")
    kind = models.CharField(max_length=10, choices=PredictionKind.choices)
    reporting_year = models.PositiveSmallIntegerField()
    reporting_quarter = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–4; null for annual.")
    financials = models.JSONField(help_text="The statement as given (quarterly: the quarter's own flows).")
    ratios = models.JSONField(default=dict)
    probability = models.FloatField()
    risk_level = models.CharField(max_length=10)
    rating = models.CharField(max_length=4)
    model_version = models.CharField(max_length=64)
    components = models.JSONField(default=dict)
    drivers = models.JSONField(null=True, blank=True, help_text="Computed on first view for bulk predictions.")
    annualization = models.CharField(max_length=3, choices=Annualization.choices, null=True, blank=True)
    source = models.CharField(max_length=8, choices=PredictionSource.choices, default=PredictionSource.SINGLE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
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
            models.Index(fields=["created_by", "source", "created_at"], name="pred_quota"),
        ]

    def __str__(self) -> str:
        period = f"{self.reporting_year}" + (f" Q{self.reporting_quarter}" if self.reporting_quarter else "")
        return f"{self.kind} {period} of company {self.company_id}"

    @property
    def reporting_quarter_label(self) -> str | None:
        return f"Q{self.reporting_quarter}" if self.reporting_quarter else None
