"""Organizations, memberships and invitations in Django admin, scoped through ``OrgScopedAdmin``.

Writes go through the same services as the API: the last admin of an organization cannot be demoted or removed,
removing a member clears their default organization, and deleting an invitation revokes it.
"""

from django import forms
from django.contrib import admin
from django.db import transaction

from . import selectors, services
from .choices import Role
from .models import AuditEvent, Invitation, Membership, Organization
from .scoping import OrgScopedAdmin, ReadOnlyOrgScopedAdmin

LAST_ADMIN_MESSAGE = "An organization needs at least one admin: promote another member first."


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    """Superusers manage every organization; an organization admin sees and renames only their own."""

    organization_id_field = "id"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    prepopulated_fields = {"slug": ("name",)}

    def get_readonly_fields(self, request, obj=None):
        # The slug is the organization's identity outside AccuNode: platform staff change it, tenants do not.
        if request.user.is_superuser:
            return ["created_at"]
        return ["slug", "created_at"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Audit events are never deleted one by one (their admin refuses it); an organization's go with it.
        perms_needed.discard(AuditEvent._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    def save_model(self, request, obj, form, change):
        """Renames through the service, so they are audited; a new organization is platform staff's (no admin yet)."""
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data if field in ("name", "slug")}
            services.organization_update(organization=obj, actor=request.user, **changes)
        else:
            obj.pk = services.organization_add(name=obj.name, slug=obj.slug, actor=request.user).pk


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        # ``self.instance`` still holds the stored role here (the form copies its data onto it after cleaning).
        if (
            self.instance.pk
            and role != Role.ADMIN
            and selectors.memberships_leaving_no_admin(memberships=[self.instance])
        ):
            raise forms.ValidationError(LAST_ADMIN_MESSAGE)
        return role


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    form = MembershipAdminForm
    list_display = ["user", "organization", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]

    def get_readonly_fields(self, request, obj=None):
        # Roles change here; who belongs where changes through invitations (or a superuser adding a membership).
        if obj is not None:
            return ["user", "organization", "joined_at"]
        return ["joined_at"]

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if change:
            services.membership_update_role(membership=obj, role=form.cleaned_data["role"], actor=request.user)
        else:
            created = services.membership_add(
                organization=obj.organization, user=obj.user, role=obj.role, actor=request.user
            )
            obj.pk = created.pk

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Django refuses a deletion that lists protected objects, on the delete page and the bulk action alike.
        protected = list(protected) + [
            f"{membership} — {LAST_ADMIN_MESSAGE}"
            for membership in selectors.memberships_leaving_no_admin(memberships=list(objs))
        ]
        return deleted, model_count, perms_needed, protected

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for membership in queryset:
            services.membership_remove(membership=membership, actor=request.user)


@admin.register(Invitation)
class InvitationAdmin(OrgScopedAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email"]
    list_select_related = ["organization"]
    fields = ["organization", "email", "role", "expires_at", "invited_by", "created_at", "accepted_at"]
    readonly_fields = ["organization", "email", "invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request):
        # Invitations are created through the API/services so the e-mail with its token is sent.
        return False

    def has_change_permission(self, request, obj=None):
        # An accepted invitation is history: the member's role is changed on the membership.
        if obj is not None and obj.accepted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.accepted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in ("role", "expires_at")}
        services.invitation_update(invitation=obj, actor=request.user, **changes)

    def delete_model(self, request, obj):
        services.invitation_revoke(invitation=obj, actor=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for invitation in queryset.filter(accepted_at__isnull=True):
            services.invitation_revoke(invitation=invitation, actor=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyOrgScopedAdmin):
    """The audit trail: read-only, scoped like everything else."""

    list_display = ["at", "organization", "actor", "action", "object_type", "object_repr", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "request_id", "actor__email"]
    list_select_related = ["organization", "actor"]
    date_hierarchy = "at"

    def has_delete_permission(self, request, obj=None):
        return False  # an audit trail that can be edited or deleted, even by a superuser, is not one
