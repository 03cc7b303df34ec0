"""Organizations API (``/api/v1/organizations/{organization_id}/…``): thin doors into selectors and services.

The organization comes from the URL and goes through the tenancy choke point (``OrganizationURLAPIMixin``): a user
who is not a member gets 404, a member whose role is too low for the action gets 403.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from accunode.api.schema import error_responses

from . import selectors, services
from .choices import Role
from .models import Invitation, Membership, Organization
from .scoping import OrganizationURLAPIMixin
from .serializers import (
    InvitationCreateInputSerializer,
    InvitationOutputSerializer,
    MembershipOutputSerializer,
    MembershipRoleInputSerializer,
    OrganizationOutputSerializer,
)

TAGS = ["organizations"]


@extend_schema_view(
    retrieve=extend_schema(
        summary="An organization you belong to",
        tags=TAGS,
        responses={200: OrganizationOutputSerializer, **error_responses(401, 404)},
    ),
)
class OrganizationViewSet(OrganizationURLAPIMixin, viewsets.GenericViewSet):
    """An organization, for its members; anyone else gets 404."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationOutputSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        # Organization is the tenant itself, not a tenant-owned row: the URL organization is the only one visible.
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        return Organization.objects.filter(pk=self.request.organization.pk)

    def retrieve(self, request, *args, **kwargs):
        organization = selectors.organization_get_with_member_count(organization=request.organization)
        return Response(OrganizationOutputSerializer(organization).data)


@extend_schema_view(
    list=extend_schema(
        summary="Members of the organization (any member)",
        tags=TAGS,
        responses={200: MembershipOutputSerializer(many=True), **error_responses(401, 404)},
    ),
    partial_update=extend_schema(
        summary="Change a member's role (admin)",
        description="The organization's last admin cannot be demoted (409). Without `role`, nothing changes.",
        tags=TAGS,
        request=MembershipRoleInputSerializer,
        responses={200: MembershipOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    destroy=extend_schema(
        summary="Remove a member (admin)",
        description="The organization's last admin cannot be removed (409). "
        "If this was the member's default organization, it is cleared.",
        tags=TAGS,
        responses={204: OpenApiResponse(description="Removed."), **error_responses(401, 403, 404, 409)},
    ),
)
class MemberViewSet(OrganizationURLAPIMixin, viewsets.GenericViewSet):
    """Members of an organization, addressed by user id. Every member reads; admins change roles and remove."""

    queryset = Membership.objects.all()
    serializer_class = MembershipOutputSerializer
    filter_backends = []
    lookup_field = "user_id"
    action_roles = {"list": Role.VIEWER, "partial_update": Role.ADMIN, "destroy": Role.ADMIN}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.membership_list(organization=request.organization))
        return self.get_paginated_response(MembershipOutputSerializer(page, many=True).data)

    def partial_update(self, request, *args, user_id, **kwargs):
        membership = selectors.membership_get(organization=request.organization, user_id=user_id)
        payload = MembershipRoleInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        if "role" in payload.validated_data:
            membership = services.membership_update_role(
                membership=membership, role=payload.validated_data["role"], actor=request.user
            )
        return Response(MembershipOutputSerializer(membership).data)

    def destroy(self, request, *args, user_id, **kwargs):
        membership = selectors.membership_get(organization=request.organization, user_id=user_id)
        services.membership_remove(membership=membership, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Pending invitations (admin)",
        tags=TAGS,
        responses={200: InvitationOutputSerializer(many=True), **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Invite someone by e-mail (admin)",
        description="E-mails a link `{ACCUNODE_PUBLIC_URL}/register?invitation_token=<token>`, valid for "
        "ACCUNODE_INVITATION_TTL. An address that is already a member, or already has a pending invitation, "
        "is a 409 with `existing_id` (the member's user id, or the pending invitation's id).",
        tags=TAGS,
        request=InvitationCreateInputSerializer,
        responses={201: InvitationOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    destroy=extend_schema(
        summary="Revoke a pending invitation (admin)",
        description="An accepted invitation cannot be revoked (409): remove the member instead.",
        tags=TAGS,
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(401, 403, 404, 409)},
    ),
)
class InvitationViewSet(OrganizationURLAPIMixin, viewsets.GenericViewSet):
    """Invitations to join an organization by e-mail, managed by its admins."""

    queryset = Invitation.objects.all()
    serializer_class = InvitationOutputSerializer
    filter_backends = []
    lookup_field = "id"
    lookup_url_kwarg = "invitation_id"
    action_roles = {"list": Role.ADMIN, "create": Role.ADMIN, "destroy": Role.ADMIN}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.invitation_list_pending(organization=request.organization))
        return self.get_paginated_response(InvitationOutputSerializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        payload = InvitationCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            organization=request.organization, invited_by=request.user, **payload.validated_data
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, invitation_id, **kwargs):
        invitation = selectors.invitation_get(organization=request.organization, invitation_id=invitation_id)
        services.invitation_revoke(invitation=invitation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
