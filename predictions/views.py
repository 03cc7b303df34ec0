"""Prediction API: thin viewsets over the prediction services and selectors (annual and quarterly alike)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accunode.api.caching import CachedReadMixin, organization_data_version
from accunode.api.exceptions import NotFound
from accunode.api.idempotency import idempotent
from accunode.api.ratelimit import enforce_rate_limit
from accunode.api.schema import NOT_MODIFIED_RESPONSE, error_responses
from organizations.choices import Role
from organizations.scoping import OrgScopedAPIMixin

from . import services
from .choices import PredictionKind
from .filters import PredictionFilter
from .models import Prediction
from .selectors import prediction_list, prediction_stats
from .serializers import (
    AnnualPredictionInputSerializer,
    PredictionOutputSerializer,
    PredictionStatsSerializer,
    QuarterlyPredictionInputSerializer,
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays with the same body answer the first response for 24 h; another body → 422.",
)


def _prediction_schema(kind: str, input_serializer):
    label = kind.capitalize()
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {kind} predictions",
            responses={
                200: PredictionOutputSerializer,
                **NOT_MODIFIED_RESPONSE,
                **error_responses(400, 401, 403, 404, 429),
            },
        ),
        retrieve=extend_schema(
            summary=f"{label} prediction (ETag; If-None-Match → 304)",
            responses={200: PredictionOutputSerializer, **NOT_MODIFIED_RESPONSE, **error_responses(401, 403, 404)},
        ),
        create=extend_schema(
            summary=f"Score and store a {kind} prediction",
            request=input_serializer,
            parameters=[IDEMPOTENCY_PARAMETER],
            responses={201: PredictionOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422, 429)},
        ),
        update=extend_schema(
            summary=f"Re-score a {kind} prediction with a new statement",
            request=input_serializer,
            responses={200: PredictionOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
        ),
        destroy=extend_schema(
            summary=f"Delete a {kind} prediction (admin, or the analyst who created it)",
            responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404, 429)},
        ),
    )


class PredictionViewSet(
    OrgScopedAPIMixin,
    CachedReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Scored financial statements of the active organization's companies: one prediction per company and year
    (quarterly: and quarter). Reads are open to every member, scoring and re-scoring to analysts, deleting to admins
    and to the analyst who created the prediction. List and retrieve carry an ``ETag``; ``If-None-Match`` with it
    answers 304 until the organization's data changes."""

    kind: str = PredictionKind.ANNUAL
    input_serializer_class = AnnualPredictionInputSerializer
    queryset = Prediction.objects.all()
    serializer_class = PredictionOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PredictionFilter
    http_method_names = ["get", "post", "put", "delete", "head", "options"]
    # Deleting is for admins or the creating analyst: the service decides between the two.
    action_roles = {"create": Role.ANALYST, "update": Role.ANALYST, "destroy": Role.ANALYST}

    def initial(self, request, *args, **kwargs):
        if self.kind == PredictionKind.QUARTERLY and not settings.ACCUNODE_ENABLE_QUARTERLY_PREDICTIONS:
            raise NotFound("Quarterly predictions are switched off.")
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            enforce_rate_limit(request, limit_name="prediction_write_user", value=str(request.user.pk))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Prediction.objects.none()
        predictions = prediction_list(organization=self.request.organization, kind=self.kind)
        if self.action == "list":  # a page loads only what its rows show
            predictions = predictions.only(*PredictionOutputSerializer.source_fields)
        return predictions

    def retrieve(self, request, *args, **kwargs):
        prediction = self.get_object()
        if prediction.drivers is None or prediction.ratios is None:  # a bulk prediction's first retrieval
            services.prediction_ensure_explanation(prediction=prediction)
        return super().retrieve(request, *args, **kwargs)

    def _input(self, request) -> dict:
        payload = self.input_serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        return {
            "reporting_year": data["reporting_year"],
            "reporting_quarter": data.get("reporting_quarter"),
            "financials": data["financials"],
            "company_ref": data.get("company"),
            "company_id": data.get("company_id"),
        }

    def create(self, request, *args, **kwargs):
        def handle():
            prediction = services.prediction_create(
                organization=request.organization, kind=self.kind, created_by=request.user, **self._input(request)
            )
            return Response(PredictionOutputSerializer(prediction).data, status=status.HTTP_201_CREATED)

        return idempotent(request, f"predictions:{self.kind}", handle)

    def update(self, request, *args, **kwargs):
        prediction = self.get_object()
        prediction = services.prediction_update(prediction=prediction, actor=request.user, **self._input(request))
        return Response(PredictionOutputSerializer(prediction).data)

    def destroy(self, request, *args, **kwargs):
        services.prediction_delete(prediction=self.get_object(), actor=request.user, membership=request.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


@_prediction_schema("annual", AnnualPredictionInputSerializer)
class AnnualPredictionViewSet(PredictionViewSet):
    kind = PredictionKind.ANNUAL
    input_serializer_class = AnnualPredictionInputSerializer


@_prediction_schema("quarterly", QuarterlyPredictionInputSerializer)
class QuarterlyPredictionViewSet(PredictionViewSet):
    kind = PredictionKind.QUARTERLY
    input_serializer_class = QuarterlyPredictionInputSerializer


STATS_CACHE_SECONDS = 300


class PredictionStatsView(OrgScopedAPIMixin, APIView):
    """Portfolio figures of the active organization, cached until its data changes."""

    @extend_schema(
        summary="Portfolio statistics", responses={200: PredictionStatsSerializer, **error_responses(401, 403)}
    )
    def get(self, request):
        organization_id = request.organization.pk
        key = f"stats:{organization_id}:{organization_data_version(organization_id)}"
        data = cache.get(key)
        if data is None:
            data = PredictionStatsSerializer(prediction_stats(organization=request.organization)).data
            cache.set(key, data, STATS_CACHE_SECONDS)
        return Response(data)
