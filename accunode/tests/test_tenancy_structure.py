"""Structure guards for the one tenancy choke point: a new endpoint or admin class cannot forget it."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

from organizations.models import OrgScopedModel
from organizations.scoping import OrgScopedAdmin, OrgScopedAPIMixin

# Views under /api/ that serve no tenant data: health, schema, docs, auth and the caller's own profile.
TENANT_FREE_VIEW_MODULES = ("accunode.api.health", "drf_spectacular.views", "accounts.views")


def _api_views(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            callback = pattern.callback
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            yield route, callback, view_class


def test_every_tenant_api_view_goes_through_the_scoping_mixin():
    checked = 0
    for route, callback, view_class in _api_views():
        module = (view_class or callback).__module__
        if module.startswith(TENANT_FREE_VIEW_MODULES):
            continue
        assert view_class is not None, f"{route}: a function view under /api/ bypasses the scoping mixin"
        assert issubclass(view_class, OrgScopedAPIMixin), f"{route}: {view_class.__name__} is not org-scoped"
        checked += 1
    assert checked >= 8  # companies, predictions (annual, quarterly, stats), bulk upload, jobs, organizations


def test_every_tenant_owned_model_in_admin_uses_the_scoped_admin():
    tenant_models = [model for model in admin.site._registry if issubclass(model, OrgScopedModel)]
    assert len(tenant_models) >= 6
    for model in tenant_models:
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, OrgScopedAdmin), f"{model.__name__} admin is not OrgScopedAdmin"
