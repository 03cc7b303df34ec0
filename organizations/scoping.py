"""The tenancy choke point: the one way any door (API, dashboard, admin) reaches tenant-owned rows.

- ``resolve_membership`` decides the active organization of a request (``X-Organization`` header, the dashboard's
  session choice, or the user's default) — never request data.
- ``scope_to_organization`` is the only filter applied to tenant-owned querysets.
- ``OrgScopedAPIMixin`` (DRF), ``OrgScopedDashboardMixin`` (Django views) and ``OrgScopedAdmin`` (Django admin)
  use both, plus the per-action role rules of ``required_role``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib import admin
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS

from accunode.api.exceptions import PermissionDeniedError
from accunode.logging import organization_id_var, user_id_var

from .choices import Role, role_at_least
from .models import Membership, Organization, OrgScopedModel

ORGANIZATION_HEADER = "X-Organization"
DASHBOARD_SESSION_KEY = "active_organization_id"


def resolve_membership(user, requested_organization_id: str | None = None) -> Membership:
    """The membership that makes ``requested_organization_id`` (or the user's default) the active organization."""
    memberships = Membership.objects.select_related("organization").filter(user=user)
    if requested_organization_id:
        try:
            organization_id = uuid.UUID(str(requested_organization_id))
        except ValueError:
            raise PermissionDeniedError("X-Organization must be the id of an organization you belong to.") from None
        membership = memberships.filter(organization_id=organization_id).first()
        if membership is None:
            raise PermissionDeniedError("You are not a member of the organization named by X-Organization.")
        return membership
    if user.default_organization_id:
        membership = memberships.filter(organization_id=user.default_organization_id).first()
        if membership is not None:
            return membership
    membership = memberships.order_by("joined_at").first()
    if membership is None:
        raise PermissionDeniedError("You are not a member of any organization.")
    return membership


def scope_to_organization(queryset: QuerySet, organization: Organization) -> QuerySet:
    """Restrict a tenant-owned queryset to one organization. The only place such a filter is written."""
    if not issubclass(queryset.model, OrgScopedModel):
        raise TypeError(f"{queryset.model.__name__} is not tenant-owned (OrgScopedModel).")
    return queryset.filter(organization=organization)


def required_role(method: str, action: str | None, action_roles: dict[str, str]) -> str:
    """The minimum role for a request: the view's ``action_roles`` first, then by HTTP method."""
    if action and action in action_roles:
        return action_roles[action]
    if method in SAFE_METHODS:
        return Role.VIEWER
    if method == "DELETE":
        return Role.ADMIN
    return Role.ANALYST


def check_role(membership: Membership, minimum: str) -> None:
    if not role_at_least(membership.role, minimum):
        raise PermissionDeniedError(f"This action needs the {minimum} role in {membership.organization.name}.")


class OrgScopedAPIMixin:
    """For every tenant API view: resolves the active organization, checks the role, scopes the queryset."""

    action_roles: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        membership = resolve_membership(request.user, request.headers.get(ORGANIZATION_HEADER))
        request.membership = membership
        request.organization = membership.organization
        user_id_var.set(str(request.user.pk))
        organization_id_var.set(str(membership.organization_id))
        check_role(membership, required_role(request.method, getattr(self, "action", None), self.action_roles))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request organization
            return super().get_queryset().none()
        return scope_to_organization(super().get_queryset(), self.request.organization)


class OrgScopedDashboardMixin(LoginRequiredMixin):
    """For every dashboard view: the same resolution, role check and scoping for session-authenticated pages."""

    minimum_role: str = Role.VIEWER

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = resolve_membership(request.user, request.session.get(DASHBOARD_SESSION_KEY))
        request.membership = membership
        request.organization = membership.organization
        organization_id_var.set(str(membership.organization_id))
        check_role(membership, self.minimum_role)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return scope_to_organization(super().get_queryset(), self.request.organization)


def administered_organization_ids(user) -> list:
    """Organizations whose data ``user`` may manage in Django admin (admin role)."""
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user, role=Role.ADMIN).values_list("organization_id", flat=True))


class OrgScopedAdmin(admin.ModelAdmin):
    """Django admin for tenant administrators: platform superusers see everything; a staff user who is an admin of
    some organizations sees and edits only those organizations' rows, through every admin URL."""

    def _organization_ids(self, request) -> list:
        if not hasattr(request, "_administered_organization_ids"):
            request._administered_organization_ids = administered_organization_ids(request.user)
        return request._administered_organization_ids

    def scope_admin_queryset(self, request, queryset: QuerySet) -> QuerySet:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(organization_id__in=self._organization_ids(request))

    def get_queryset(self, request):
        return self.scope_admin_queryset(request, super().get_queryset(request))

    def _may_administer(self, request, obj: Model | None) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_active or not request.user.is_staff:
            return False
        allowed = self._organization_ids(request)
        if obj is None:
            return bool(allowed)
        return obj.organization_id in allowed

    def has_module_permission(self, request):
        return self._may_administer(request, None)

    def has_view_permission(self, request, obj=None):
        return self._may_administer(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_administer(request, obj)

    def has_add_permission(self, request):
        return self._may_administer(request, None)

    def has_delete_permission(self, request, obj=None):
        return self._may_administer(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related_model = db_field.related_model
        if not request.user.is_superuser:
            allowed = self._organization_ids(request)
            if related_model is Organization:
                kwargs["queryset"] = Organization.objects.filter(id__in=allowed)
            elif issubclass(related_model, OrgScopedModel):
                kwargs["queryset"] = related_model._default_manager.filter(organization_id__in=allowed)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request) -> Iterable:
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and "organization" not in filters:
            filters.insert(0, "organization")
        return filters


def get_scoped_object_or_404(queryset: QuerySet, organization: Organization, **lookup) -> Model:
    """One object of the organization, or 404 — also when it exists in another organization."""
    try:
        return scope_to_organization(queryset, organization).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
