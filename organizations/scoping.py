"""The tenancy choke point: the one way any door (API, dashboard, admin) reaches tenant-owned rows.

- ``resolve_membership`` decides the active organization of a request (``X-Organization`` header, the dashboard's
  session choice, or the user's default) — never request data. ``resolve_url_membership`` is the same decision for
  endpoints that name the organization in their URL (``/organizations/{id}/…``), where a non-member gets 404.
- ``scope_to_organization`` is the only filter applied to tenant-owned querysets.
- ``OrgScopedAPIMixin`` (DRF; ``OrganizationURLAPIMixin`` for organization URLs), ``OrgScopedDashboardMixin``
  (Django views) and ``OrgScopedAdmin`` (Django admin) use both, plus the per-action role rules of ``required_role``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponseRedirect
from rest_framework.permissions import SAFE_METHODS

from accunode.api.exceptions import ApplicationError, NotFound, PermissionDeniedError
from accunode.api.ratelimit import enforce_rate_limit
from accunode.logging import organization_id_var, user_id_var

from .choices import Role, role_at_least
from .models import Membership, Organization, OrgScopedModel
from .principals import user_memberships

ORGANIZATION_HEADER = "X-Organization"
DASHBOARD_SESSION_KEY = "active_organization_id"


def resolve_membership(user, requested_organization_id: str | None = None) -> Membership:
    """The membership that makes ``requested_organization_id`` (or the user's default) the active organization.

    Memberships come from the principal cache (``principals``), which every membership change invalidates."""
    memberships = user_memberships(user)
    if requested_organization_id:
        try:
            organization_id = uuid.UUID(str(requested_organization_id))
        except ValueError:
            raise PermissionDeniedError("X-Organization must be the id of an organization you belong to.") from None
        membership = next((m for m in memberships if m.organization_id == organization_id), None)
        if membership is None:
            raise PermissionDeniedError("You are not a member of the organization named by X-Organization.")
        return membership
    if user.default_organization_id:
        membership = next((m for m in memberships if m.organization_id == user.default_organization_id), None)
        if membership is not None:
            return membership
    if not memberships:
        raise PermissionDeniedError("You are not a member of any organization.")
    return memberships[0]  # the oldest


def resolve_url_membership(user, organization_id) -> Membership:
    """The user's membership in the organization named by a URL (``/organizations/{id}/…``).

    The same decision as ``resolve_membership``, except that an organization the user does not belong to is
    ``NotFound``: an organization addressed by URL is an object, and other organizations' objects are 404, never 403.
    """
    if not organization_id:
        raise NotFound("Organization not found.")
    try:
        return resolve_membership(user, organization_id)
    except PermissionDeniedError:
        raise NotFound("Organization not found.") from None


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

    def resolve_request_membership(self, request) -> Membership:
        return resolve_membership(request.user, request.headers.get(ORGANIZATION_HEADER))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        enforce_rate_limit(request, limit_name="api_user", value=str(request.user.pk))
        membership = self.resolve_request_membership(request)
        request.membership = membership
        request.organization = membership.organization
        user_id_var.set(str(request.user.pk))
        organization_id_var.set(str(membership.organization_id))
        lookup = getattr(self, "lookup_url_kwarg", None) or getattr(self, "lookup_field", None)
        if lookup and lookup in kwargs and hasattr(self, "get_object"):
            self.get_object()  # another organization's object is 404 before any role check can say 403
        check_role(membership, required_role(request.method, getattr(self, "action", None), self.action_roles))

    def get_object(self):
        if not hasattr(self, "_scoped_object"):
            self._scoped_object = super().get_object()
        return self._scoped_object

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request organization
            return super().get_queryset().none()
        return scope_to_organization(super().get_queryset(), self.request.organization)


class OrganizationURLAPIMixin(OrgScopedAPIMixin):
    """For API views under ``/organizations/{organization_id}/``: the organization of the URL is the active one
    (``X-Organization`` does not apply), a non-member gets 404, and roles are checked as for every tenant view."""

    organization_url_kwarg = "organization_id"

    def resolve_request_membership(self, request) -> Membership:
        return resolve_url_membership(request.user, self.kwargs.get(self.organization_url_kwarg))


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
    some organizations sees and edits only those organizations' rows, through every admin URL (changelist, change,
    delete, history, actions, autocomplete — all of them go through ``get_queryset``).

    ``organization_id_field`` names the row's organization id: ``"organization_id"`` for tenant-owned models,
    ``"id"`` for ``Organization`` itself.
    """

    organization_id_field = "organization_id"

    def _organization_ids(self, request) -> list:
        if not hasattr(request, "_administered_organization_ids"):
            request._administered_organization_ids = administered_organization_ids(request.user)
        return request._administered_organization_ids

    def scope_admin_queryset(self, request, queryset: QuerySet) -> QuerySet:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_id_field}__in": self._organization_ids(request)})

    def get_queryset(self, request):
        return self.scope_admin_queryset(request, super().get_queryset(request))

    def _may_administer(self, request, obj: Model | None) -> bool:
        if not request.user.is_active:
            return False
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        allowed = self._organization_ids(request)
        if obj is None:
            return bool(allowed)
        return getattr(obj, self.organization_id_field) in allowed

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

    def _scoped_choices(self, request, related_model, kwargs: dict) -> dict:
        """Choices of a relation offered to a tenant administrator: only their organizations' rows."""
        if request.user.is_superuser:
            return kwargs
        allowed = self._organization_ids(request)
        if related_model is Organization:
            kwargs["queryset"] = Organization.objects.filter(id__in=allowed)
        elif issubclass(related_model, OrgScopedModel):
            kwargs["queryset"] = related_model._default_manager.filter(organization_id__in=allowed)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(request, db_field.related_model, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(request, db_field.related_model, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # A service refusing an admin write (a conflict that arose between the form and the save, say) is a message on
    # the page the administrator came from, not a server error; the admin's transaction has rolled back by then.
    def changeform_view(self, request, *args, **kwargs):
        return self._service_errors_as_messages(request, super().changeform_view, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._service_errors_as_messages(request, super().delete_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):  # bulk actions (delete selected) post here
        return self._service_errors_as_messages(request, super().changelist_view, *args, **kwargs)

    def _service_errors_as_messages(self, request, view, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as error:
            if request.method != "POST":  # only writes are refused this way; a page that cannot show stays an error
                raise
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_list_filter(self, request) -> Iterable:
        filters = list(super().get_list_filter(request))
        # The organization filter lists every organization's name: platform staff only.
        if (
            request.user.is_superuser
            and self.organization_id_field == "organization_id"
            and "organization" not in filters
        ):
            filters.insert(0, "organization")
        return filters


def get_scoped_object_or_404(queryset: QuerySet, organization: Organization, **lookup) -> Model:
    """One object of the organization, or 404 — also when it exists in another organization."""
    try:
        return scope_to_organization(queryset, organization).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError) as exc:  # a malformed id is just not found
        raise Http404 from exc


class ReadOnlyOrgScopedAdmin(OrgScopedAdmin):
    """Scoped and read-only: rows written by services (predictions, jobs, audit events) are viewed, never edited
    by hand. Deleting stays with the organization's admins unless a subclass says otherwise."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
