"""Companies, owned by an organization. The ``latest_*`` summary fields are kept current by the predictions
services in the same transaction as every prediction write, so lists can filter and sort by latest risk cheaply
without this app importing ``predictions``."""

import uuid

from django.conf import settings
from django.db import models

from organizations.models import OrgScopedModel

SYMBOL_MAX_LENGTH = 20


class Company(OrgScopedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    symbol = models.CharField(max_length=SYMBOL_MAX_LENGTH, help_text="Stored upper-case; unique per organization.")
    name = models.CharField(max_length=255)
    sector = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Summary of the latest predictions (maintained by predictions.services; never written by this app).
    prediction_count = models.PositiveIntegerField(default=0)
    latest_annual_prediction_id = models.UUIDField(null=True, blank=True, editable=False)
    latest_annual_reporting_year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    latest_annual_probability = models.FloatField(null=True, blank=True, editable=False)
    latest_annual_risk_level = models.CharField(max_length=10, blank=True, default="", editable=False)
    latest_annual_rating = models.CharField(max_length=4, blank=True, default="", editable=False)
    latest_quarterly_prediction_id = models.UUIDField(null=True, blank=True, editable=False)
    latest_quarterly_reporting_year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    latest_quarterly_reporting_quarter = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    latest_quarterly_probability = models.FloatField(null=True, blank=True, editable=False)
    latest_quarterly_risk_level = models.CharField(max_length=10, blank=True, default="", editable=False)
    latest_quarterly_rating = models.CharField(max_length=4, blank=True, default="", editable=False)

    class Meta:
        ordering = ["name", "symbol"]
        verbose_name_plural = "companies"
        constraints = [models.UniqueConstraint(fields=["organization", "symbol"], name="unique_company_symbol")]
        indexes = [
            models.Index(fields=["organization", "name"]),
            models.Index(fields=["organization", "sector"]),
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["organization", "latest_annual_risk_level"]),
            models.Index(fields=["organization", "latest_annual_probability"]),
            # ?ordering=-latest_probability (companies without a prediction last: DESC NULLS LAST) has its own index
            # on PostgreSQL, company_org_pd_desc, made by migration 0002: SQLite cannot index NULLS LAST.
        ]

    def __str__(self) -> str:
        return f"{self.symbol} — {self.name}"
