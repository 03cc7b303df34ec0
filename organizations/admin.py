"""Organizations, memberships and invitations in Django admin, scoped through ``OrgScopedAdmin``."""

from django.contrib import admin

from .models import Invitation, Membership, Organization
from .scoping import OrgScopedAdmin, administered_organization_ids


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Superusers manage every organization; an organization admin sees and renames only their own."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(id__in=administered_organization_ids(request.user))

    def _may_administer(self, request, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        if not (request.user.is_active and request.user.is_staff):
            return False
        allowed = administered_organization_ids(request.user)
        return bool(allowed) if obj is None else obj.id in allowed

    def has_module_permission(self, request):
        return self._may_administer(request)

    def has_view_permission(self, request, obj=None):
        return self._may_administer(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_administer(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "organization", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        # Tenant administrators change roles; who belongs where changes through invitations.
        if obj is not None and not request.user.is_superuser:
            return ["user", "organization", "joined_at"]
        return ["joined_at"]

    def has_add_permission(self, request):
        return request.user.is_superuser


@admin.register(Invitation)
class InvitationAdmin(OrgScopedAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email"]
    list_select_related = ["organization"]
    readonly_fields = ["token_hash", "invited_by", "created_at", "accepted_at"]
    fields = ["organization", "email", "role", "expires_at", "invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request):
        # Invitations are created through the API/services so the e-mail with its token is sent.
        return False
