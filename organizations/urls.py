"""API routes of organizations: everything under ``organizations/{organization_id}/``."""

from django.urls import path

from .views import InvitationViewSet, MemberViewSet, OrganizationViewSet

ORGANIZATION = "organizations/<uuid:organization_id>/"

urlpatterns = [
    path(ORGANIZATION, OrganizationViewSet.as_view({"get": "retrieve"}), name="organization-detail"),
    path(f"{ORGANIZATION}members/", MemberViewSet.as_view({"get": "list"}), name="organization-member-list"),
    path(
        f"{ORGANIZATION}members/<uuid:user_id>/",
        MemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="organization-member-detail",
    ),
    path(
        f"{ORGANIZATION}invitations/",
        InvitationViewSet.as_view({"get": "list", "post": "create"}),
        name="organization-invitation-list",
    ),
    path(
        f"{ORGANIZATION}invitations/<uuid:invitation_id>/",
        InvitationViewSet.as_view({"delete": "destroy"}),
        name="organization-invitation-detail",
    ),
]
