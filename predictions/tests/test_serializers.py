"""The prediction output: its written-out ``to_representation`` says exactly what the declared fields say."""

import pytest
from rest_framework import serializers

from accunode.api.testing import make_member
from organizations.choices import Role
from organizations.tests.factories import OrganizationFactory
from predictions.models import Prediction
from predictions.serializers import PredictionOutputSerializer
from predictions.tests.factories import PredictionFactory, scored_prediction


def declared_fields_representation(prediction: Prediction) -> dict:
    """DRF's generic field-by-field representation of the same serializer."""
    return serializers.Serializer.to_representation(PredictionOutputSerializer(), prediction)


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
