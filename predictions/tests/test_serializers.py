"""The prediction output: its written-out ``to_representation`` says exactly what DRF's stock fields say."""

import pytest
from rest_framework import serializers

from accunode.api.testing import make_member
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions.models import Prediction
from predictions.serializers import PredictionOutputSerializer
from predictions.tests.factories import PredictionFactory, scored_prediction


class ReferenceDriverSerializer(serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField()


class ReferenceCompanySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    sector = serializers.CharField()


class ReferenceUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class ReferencePredictionSerializer(serializers.Serializer):
    """API.md "Output" in DRF's stock fields only, independent of the project's shortcuts: what the written-out
    representation must equal."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    company = ReferenceCompanySerializer()
    reporting_year = serializers.IntegerField()
    reporting_quarter = serializers.SerializerMethodField()
    financials = serializers.DictField(child=serializers.FloatField())
    ratios = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_null=True)
    probability = serializers.FloatField()
    risk_level = serializers.CharField()
    rating = serializers.CharField()
    model = serializers.SerializerMethodField()
    drivers = ReferenceDriverSerializer(many=True, allow_null=True)
    annualization = serializers.CharField(allow_null=True)
    created_by = ReferenceUserSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_reporting_quarter(self, prediction):
        return None if prediction.reporting_quarter is None else f"Q{prediction.reporting_quarter}"

    def get_model(self, prediction):
        components = {name: float(value) for name, value in prediction.components.items()}
        return {"version": prediction.model_version, "components": components}


def declared_fields_representation(prediction: Prediction) -> dict:
    """The prediction in DRF's stock fields (``ReferencePredictionSerializer``)."""
    return ReferencePredictionSerializer(prediction).data


@pytest.fixture
def scored_predictions(db):
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)

    def create(kind, year, quarter=None, **overrides):
        company = {"symbol": "SHAPE", "name": "Shape Inc", "sector": "Utilities"}
        return scored_prediction(organization, analyst, kind, year, quarter, company=company, **overrides)

    annual = create("annual", 2023, market_value=None, inventory=12)  # an absent item and an integer one
    quarterly = create("quarterly", 2024, 1, net_income=-3.5)
    return [annual, quarterly]


@pytest.mark.django_db
def test_scored_predictions_are_represented_as_the_declared_fields_say(scored_predictions):
    for prediction in scored_predictions:
        prediction = Prediction.objects.select_related("company", "created_by").get(pk=prediction.pk)

        written_out = PredictionOutputSerializer(prediction).data

        assert written_out == declared_fields_representation(prediction)
        assert written_out["drivers"] and written_out["ratios"]


@pytest.mark.django_db
def test_a_bulk_prediction_without_explanation_or_creator_is_represented_as_the_declared_fields_say():
    prediction = PredictionFactory(
        ratios=None, drivers=None, created_by=None, components={"logistic": 0.02, "lightgbm": 0.03}
    )
    prediction = Prediction.objects.select_related("company", "created_by").get(pk=prediction.pk)

    written_out = PredictionOutputSerializer(prediction).data

    assert written_out == declared_fields_representation(prediction)
    assert (written_out["ratios"], written_out["drivers"], written_out["created_by"]) == (None, None, None)


@pytest.mark.django_db
def test_a_list_page_loads_only_the_columns_the_output_reads(scored_predictions, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = list(
            Prediction.objects.select_related("company", "created_by").only(*PredictionOutputSerializer.source_fields)
        )
        rows = PredictionOutputSerializer(page, many=True).data

    assert len(rows) == 2
    full = Prediction.objects.select_related("company", "created_by")
    assert rows == [PredictionOutputSerializer(full.get(pk=row["id"])).data for row in rows]
