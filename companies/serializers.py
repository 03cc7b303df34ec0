"""Company API serializers: strict input, explicit output (with latest prediction summaries)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accunode.api.serializers import ShallowFieldCopiesMixin, StrictInputSerializer

from .models import SYMBOL_MAX_LENGTH, Company

SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-_/]*$"
QUARTER_LABELS = {1: "Q1", 2: "Q2", 3: "Q3", 4: "Q4"}


class CompanyInputSerializer(StrictInputSerializer):
    symbol = serializers.RegexField(SYMBOL_PATTERN, min_length=1, max_length=SYMBOL_MAX_LENGTH)
    name = serializers.CharField(min_length=1, max_length=255)
    sector = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class CompanyUpdateSerializer(CompanyInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class LatestPredictionSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reporting_year = serializers.IntegerField()
    reporting_quarter = serializers.CharField(allow_null=True)
    probability = serializers.FloatField()
    risk_level = serializers.CharField()
    rating = serializers.CharField()


def latest_annual_summary(company: Company) -> dict | None:
    if company.latest_annual_prediction_id is None:
        return None
    return {
        "id": company.latest_annual_prediction_id,
        "reporting_year": company.latest_annual_reporting_year,
        "reporting_quarter": None,
        "probability": company.latest_annual_probability,
        "risk_level": company.latest_annual_risk_level,
        "rating": company.latest_annual_rating,
    }


def latest_quarterly_summary(company: Company) -> dict | None:
    if company.latest_quarterly_prediction_id is None:
        return None
    return {
        "id": company.latest_quarterly_prediction_id,
        "reporting_year": company.latest_quarterly_reporting_year,
        "reporting_quarter": QUARTER_LABELS.get(company.latest_quarterly_reporting_quarter),
        "probability": company.latest_quarterly_probability,
        "risk_level": company.latest_quarterly_risk_level,
        "rating": company.latest_quarterly_rating,
    }


class CompanyOutputSerializer(serializers.ModelSerializer):
    latest_annual = serializers.SerializerMethodField()
    latest_quarterly = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = [
            "id",
            "symbol",
            "name",
            "sector",
            "country",
            "created_at",
            "updated_at",
            "latest_annual",
            "latest_quarterly",
            "prediction_count",
        ]
        read_only_fields = fields

    @extend_schema_field(LatestPredictionSummarySerializer(allow_null=True))
    def get_latest_annual(self, company: Company) -> dict | None:
        summary = latest_annual_summary(company)
        return LatestPredictionSummarySerializer(summary).data if summary else None

    @extend_schema_field(LatestPredictionSummarySerializer(allow_null=True))
    def get_latest_quarterly(self, company: Company) -> dict | None:
        summary = latest_quarterly_summary(company)
        return LatestPredictionSummarySerializer(summary).data if summary else None


class CompanyReferenceSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    """The company inside a prediction (plain fields: nested in every prediction of a list page)."""

    id = serializers.UUIDField(read_only=True)
    symbol = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    sector = serializers.CharField(read_only=True)


class CompanyDetailSerializer(CompanyOutputSerializer):
    """A company with its annual and quarterly prediction summaries, newest first (via the reverse relation)."""

    annual_predictions = serializers.SerializerMethodField(
        help_text="Newest first, at most 200; every one: `GET predictions/annual/?company=<id>`."
    )
    quarterly_predictions = serializers.SerializerMethodField(
        help_text="Newest first, at most 200; every one: `GET predictions/quarterly/?company=<id>`."
    )

    class Meta(CompanyOutputSerializer.Meta):
        fields = [*CompanyOutputSerializer.Meta.fields, "annual_predictions", "quarterly_predictions"]
        read_only_fields = fields

    def _summaries(self, company: Company, kind: str) -> list[dict]:
        rows = (
            company.predictions.filter(kind=kind)
            .order_by("-reporting_year", "-reporting_quarter", "-created_at")
            .values("id", "reporting_year", "reporting_quarter", "probability", "risk_level", "rating")
        )
        return [
            {**row, "reporting_quarter": QUARTER_LABELS.get(row["reporting_quarter"])}
            for row in rows[:MAX_SUMMARIES_PER_KIND]
        ]

    @extend_schema_field(LatestPredictionSummarySerializer(many=True))
    def get_annual_predictions(self, company: Company) -> list[dict]:
        return LatestPredictionSummarySerializer(self._summaries(company, "annual"), many=True).data

    @extend_schema_field(LatestPredictionSummarySerializer(many=True))
    def get_quarterly_predictions(self, company: Company) -> list[dict]:
        return LatestPredictionSummarySerializer(self._summaries(company, "quarterly"), many=True).data


MAX_SUMMARIES_PER_KIND = 200
