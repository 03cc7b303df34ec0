"""Shared serializer building blocks: shallow field copies stay per instance where it matters."""

from __future__ import annotations

import pytest

from predictions.serializers import AnnualPredictionInputSerializer, PredictionOutputSerializer
from predictions.tests.factories import sample_financials


def test_each_serializer_instance_binds_its_own_copy_of_every_field():
    first, second = PredictionOutputSerializer(), PredictionOutputSerializer()

    assert first.fields["kind"] is not second.fields["kind"]
    assert (first.fields["kind"].parent, second.fields["kind"].parent) == (first, second)
    assert PredictionOutputSerializer._declared_fields["kind"].parent is None  # the declared field stays unbound
    assert first.fields["kind"].choices is second.fields["kind"].choices  # read-only state is shared, not rebuilt


def test_nested_serializers_are_whole_copies_with_their_own_state():
    first, second = PredictionOutputSerializer(), PredictionOutputSerializer()

    assert first.fields["company"] is not second.fields["company"]
    assert first.fields["company"].fields["symbol"].parent is first.fields["company"]
    assert first.fields["drivers"].child is not second.fields["drivers"].child


@pytest.mark.parametrize("bad_year", ["2020", 10**9, 1.5])
def test_errors_of_one_input_do_not_leak_into_the_next(bad_year):
    refused = AnnualPredictionInputSerializer(
        data={"company": {"symbol": "ABC"}, "reporting_year": bad_year, "financials": sample_financials()}
    )
    accepted = AnnualPredictionInputSerializer(
        data={"company": {"symbol": "ABC"}, "reporting_year": 2020, "financials": sample_financials()}
    )

    assert not refused.is_valid()
    assert set(refused.errors) == {"reporting_year"}
    assert accepted.is_valid(), accepted.errors
    assert accepted.validated_data["reporting_year"] == 2020
