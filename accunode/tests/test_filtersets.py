"""The FilterSet base builds its form class once per FilterSet class; forms stay per instance."""

from __future__ import annotations

from types import SimpleNamespace

import django_filters
from django.http import QueryDict

from accunode.filtersets import FilterSet
from companies.models import Company
from predictions.filters import PredictionFilter
from predictions.models import Prediction


def test_instances_share_their_class_s_form_class_but_not_their_forms():
    first = PredictionFilter(QueryDict("min_probability=0.5"), queryset=Prediction.objects.none())
    second = PredictionFilter(QueryDict("min_probability=oops"), queryset=Prediction.objects.none())

    assert type(first.form) is type(second.form)
    assert first.is_valid() and not second.is_valid()
    assert first.form.cleaned_data["min_probability"] == 0.5
    assert set(second.form.errors) == {"min_probability"}


def test_a_subclass_gets_a_form_class_of_its_own_filters():
    class NarrowerPredictionFilter(PredictionFilter):
        model_version = django_filters.CharFilter()

    parent_form_class = PredictionFilter(QueryDict(), queryset=Prediction.objects.none()).get_form_class()  # first
    narrower = NarrowerPredictionFilter(QueryDict("model_version=v2"), queryset=Prediction.objects.none())
    parent = PredictionFilter(QueryDict("model_version=v2"), queryset=Prediction.objects.none())

    assert "model_version" in narrower.form.fields
    assert "model_version" not in parent.form.fields
    assert type(parent.form) is parent_form_class and type(narrower.form) is not parent_form_class
    assert issubclass(NarrowerPredictionFilter, FilterSet)


def test_a_filter_with_choices_per_request_gets_a_form_class_per_instance():
    class CompanyOfRequestFilter(PredictionFilter):
        company_choice = django_filters.ModelChoiceFilter(
            field_name="company", queryset=lambda request: Company.objects.filter(organization=request.organization)
        )

    request = SimpleNamespace(organization=None)  # the callable reads the request; nothing is queried here
    first = CompanyOfRequestFilter(QueryDict(), queryset=Prediction.objects.none(), request=request)
    second = CompanyOfRequestFilter(QueryDict(), queryset=Prediction.objects.none(), request=request)

    assert first.get_form_class() is not second.get_form_class()
    assert "_form_class" not in CompanyOfRequestFilter.__dict__
