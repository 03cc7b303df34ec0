"""Prediction API serializers: strict input (API.md "Input"), explicit output (API.md "Output")."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accunode.api.serializers import ShallowFieldCopiesMixin, StrictInputSerializer, StrictIntegerField
from companies.serializers import SYMBOL_PATTERN, CompanyReferenceSerializer

from .choices import QUARTER_LABELS, Annualization, PredictionKind
from .models import Prediction

MIN_REPORTING_YEAR = 1900
RISK_LEVEL_CHOICES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
RATING_CHOICES = ["aaa", "aa", "a", "bbb", "bb", "b", "ccc"]


class CompanyRefInputSerializer(StrictInputSerializer):
    symbol = serializers.RegexField(SYMBOL_PATTERN, min_length=1, max_length=20)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    sector = serializers.CharField(max_length=100, required=False, allow_blank=True)


@extend_schema_field(
    {"oneOf": [{"type": "string", "enum": ["Q1", "Q2", "Q3", "Q4"]}, {"type": "integer", "minimum": 1, "maximum": 4}]}
)
class QuarterField(serializers.Field):
    """``"Q1"``–``"Q4"`` or ``1``–``4`` in; the number 1–4 internally."""

    default_error_messages = {"invalid": 'Must be "Q1"–"Q4" or 1–4.'}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) and 1 <= data <= 4:
            return data
        if isinstance(data, str) and data.strip().upper() in {"Q1", "Q2", "Q3", "Q4"}:
            return int(data.strip()[1])
        self.fail("invalid")

    def to_representation(self, value):
        return QUARTER_LABELS.get(value)


@extend_schema_field({"type": "string", "enum": ["Q1", "Q2", "Q3", "Q4"]})
class QuarterLabelField(serializers.Field):
    """The quarter 1–4 as API.md answers it: ``"Q1"``–``"Q4"``."""

    def to_representation(self, value):
        return QUARTER_LABELS.get(value)


@extend_schema_field(
    {
        "type": "object",
        "description": "The 17 statement items of API.md in USD millions; required: revenue, ebit, net_income, "
        "current_assets, total_assets (> 0), current_liabilities, long_term_debt, total_liabilities, "
        "retained_earnings. Every number finite and |x| < 1e9. Unknown fields are rejected.",
        "additionalProperties": {"type": "number", "nullable": True},
    }
)
class FinancialsField(serializers.Field):
    """A JSON object; its contents are validated by mlcore (one validator for API, bulk and commands)."""

    default_error_messages = {"invalid": "Must be an object of statement items."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class PredictionInputSerializer(StrictInputSerializer):
    company = CompanyRefInputSerializer(required=False)
    company_id = serializers.UUIDField(required=False)
    reporting_year = StrictIntegerField(min_value=MIN_REPORTING_YEAR)
    financials = FinancialsField()

    def validate_reporting_year(self, value: int) -> int:
        next_year = dt.date.today().year + 1
        if value > next_year:
            raise serializers.ValidationError(f"Must be between {MIN_REPORTING_YEAR} and {next_year}.")
        return value

    def validate(self, attrs):
        if ("company" in attrs) == ("company_id" in attrs):
            raise serializers.ValidationError({"company": ["Give exactly one of company (with symbol) or company_id."]})
        return attrs


class AnnualPredictionInputSerializer(PredictionInputSerializer):
    pass


class QuarterlyPredictionInputSerializer(PredictionInputSerializer):
    reporting_quarter = QuarterField()


class ModelInfoSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    version = serializers.CharField()
    components = serializers.DictField(child=serializers.FloatField())


class DriverSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField()

    def to_representation(self, driver):
        return driver_representation(driver)


def driver_representation(driver: dict) -> dict:
    """What ``DriverSerializer``'s fields produce, without a field object per value (lists serialize many)."""
    value = driver.get("value")
    return {
        "feature": str(driver["feature"]),
        "value": None if value is None else float(value),
        "contribution": float(driver["contribution"]),
    }


class FloatDictField(serializers.DictField):
    """``DictField(child=FloatField(...))`` (the same schema) with the per-value field calls inlined: a prediction
    carries some 50 statement items and ratios, and a list page serializes 50 predictions."""

    def to_representation(self, value):
        return float_dict_representation(value)


def utc_iso_format(moment: dt.datetime) -> str:
    """A stored time as API.md writes times (ISO 8601 UTC), as DRF's ``DateTimeField`` writes it in UTC."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def float_dict_representation(value: dict) -> dict:
    return {str(key): None if item is None else float(item) for key, item in value.items()}


class UserReferenceSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class PredictionOutputSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    """A prediction as API.md "Output" shows it. A plain ``Serializer`` (not a ModelSerializer): it builds no
    fields from the model on every use, which mattered on list pages and writes."""

    id = serializers.UUIDField(read_only=True)
    kind = serializers.ChoiceField(choices=PredictionKind.choices, read_only=True)
    company = CompanyReferenceSerializer(read_only=True)
    reporting_year = serializers.IntegerField(read_only=True)
    reporting_quarter = QuarterLabelField(allow_null=True, read_only=True, help_text="null for annual predictions.")
    financials = FloatDictField(child=serializers.FloatField(), read_only=True)
    ratios = FloatDictField(
        child=serializers.FloatField(allow_null=True),
        allow_null=True,
        read_only=True,
        help_text="Bulk predictions fill ratios and drivers on first retrieval (null until then in lists).",
    )
    probability = serializers.FloatField(read_only=True)
    risk_level = serializers.ChoiceField(choices=RISK_LEVEL_CHOICES, read_only=True)
    rating = serializers.ChoiceField(choices=RATING_CHOICES, read_only=True)
    model = serializers.SerializerMethodField()
    drivers = DriverSerializer(many=True, allow_null=True, read_only=True)
    annualization = serializers.ChoiceField(choices=Annualization.choices, allow_null=True, read_only=True)
    created_by = UserReferenceSerializer(allow_null=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    # The columns ``to_representation`` reads: list pages load only these (``Prediction.objects.only(...)``).
    source_fields = (
        *("id", "kind", "reporting_year", "reporting_quarter", "financials", "ratios", "probability", "risk_level"),
        *("rating", "model_version", "components", "drivers", "annualization", "created_at", "updated_at"),
        *("company__id", "company__symbol", "company__name", "company__sector", "created_by__id", "created_by__email"),
    )

    @extend_schema_field(ModelInfoSerializer)
    def get_model(self, prediction: Prediction) -> dict:
        return {"version": prediction.model_version, "components": prediction.components}

    def to_representation(self, prediction: Prediction) -> dict:
        """What the declared fields produce (``test_serializers`` holds the two equal), written out: DRF's generic
        loop costs two attribute look-ups and three calls per field, and a list page serializes 50 predictions.
        The declared (unbound) fields format the choices: representing a value needs no binding."""
        fields = self._declared_fields
        company, created_by, ratios, drivers = prediction.company, prediction.created_by, prediction.ratios, None
        if prediction.drivers is not None:
            drivers = [driver_representation(driver) for driver in prediction.drivers]
        return {
            "id": str(prediction.id),
            "kind": fields["kind"].to_representation(prediction.kind),
            "company": {
                "id": str(company.id),
                "symbol": company.symbol,
                "name": company.name,
                "sector": company.sector,
            },
            "reporting_year": int(prediction.reporting_year),
            "reporting_quarter": QUARTER_LABELS.get(prediction.reporting_quarter),
            "financials": float_dict_representation(prediction.financials),
            "ratios": None if ratios is None else float_dict_representation(ratios),
            "probability": float(prediction.probability),
            "risk_level": fields["risk_level"].to_representation(prediction.risk_level),
            "rating": fields["rating"].to_representation(prediction.rating),
            "model": self.get_model(prediction),
            "drivers": drivers,
            "annualization": None
            if prediction.annualization is None
            else fields["annualization"].to_representation(prediction.annualization),
            "created_by": None if created_by is None else {"id": str(created_by.id), "email": created_by.email},
            "created_at": utc_iso_format(prediction.created_at),
            "updated_at": utc_iso_format(prediction.updated_at),
        }


class RiskLevelCountsSerializer(serializers.Serializer):
    LOW = serializers.IntegerField()
    MEDIUM = serializers.IntegerField()
    HIGH = serializers.IntegerField()
    CRITICAL = serializers.IntegerField()


class SectorStatsSerializer(serializers.Serializer):
    sector = serializers.CharField(allow_null=True)
    companies = serializers.IntegerField()
    average_probability = serializers.FloatField(allow_null=True)


class PredictionStatsSerializer(serializers.Serializer):
    companies = serializers.IntegerField()
    annual_predictions = serializers.IntegerField()
    quarterly_predictions = serializers.IntegerField()
    average_probability = serializers.FloatField(
        allow_null=True, help_text="Mean PD of the companies' latest annual predictions."
    )
    by_risk_level = RiskLevelCountsSerializer(
        help_text="Companies by the risk level of their latest annual prediction."
    )
    by_sector = SectorStatsSerializer(many=True)
