"""Company API: thin DRF viewset over the company services and selectors."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accunode.api.caching import CachedReadMixin
from accunode.api.schema import NOT_MODIFIED_RESPONSE, error_responses
from organizations.choices import Role
from organizations.scoping import OrgScopedAPIMixin

from . import services
from .filters import CompanyFilter
from .models import Company
from .serializers import (
    CompanyDetailSerializer,
    CompanyInputSerializer,
    CompanyOutputSerializer,
    CompanyUpdateSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="List companies",
        responses={200: CompanyOutputSerializer, **NOT_MODIFIED_RESPONSE, **error_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="A company with its prediction summaries",
        responses={200: CompanyDetailSerializer, **NOT_MODIFIED_RESPONSE, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Create a company",
        request=CompanyInputSerializer,
        responses={201: CompanyOutputSerializer, **error_responses(400, 401, 403, 409, 429)},
    ),
    partial_update=extend_schema(
        summary="Update a company",
        request=CompanyUpdateSerializer,
        responses={200: CompanyOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    ),
    destroy=extend_schema(
        summary="Delete a company and its predictions",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    ),
)
class CompanyViewSet(
    OrgScopedAPIMixin,
    CachedReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Companies of the active organization, unique by symbol (stored upper-case). Reads are open to every member,
    creating and updating to analysts, deleting (with the company's predictions) to admins. List and retrieve carry
    an ``ETag``; ``If-None-Match`` with it answers 304 until the organization's data changes."""

    queryset = Company.objects.all()
    serializer_class = CompanyOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CompanyFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    action_roles = {"create": Role.ANALYST, "partial_update": Role.ANALYST, "destroy": Role.ADMIN}

    def get_serializer_class(self):
        return CompanyDetailSerializer if self.action == "retrieve" else CompanyOutputSerializer

    def create(self, request, *args, **kwargs):
        payload = CompanyInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        company = services.company_create(
            organization=request.organization, created_by=request.user, **payload.validated_data
        )
        return Response(CompanyOutputSerializer(company).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        company = self.get_object()
        payload = CompanyUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        company = services.company_update(company=company, actor=request.user, **payload.validated_data)
        return Response(CompanyOutputSerializer(company).data)

    def destroy(self, request, *args, **kwargs):
        services.company_delete(company=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
