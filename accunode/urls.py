"""Root URLs: health, the /api/v1 API with its schema and offline Swagger UI, Django admin, dashboards."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accunode.api import health

api_v1 = [
    path("health", health.readiness, name="api-health"),
    path("health/", health.readiness),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
    path("", include("organizations.urls")),
    path("", include("companies.urls")),
    path("", include("predictions.urls")),
]

urlpatterns = [
    path(
        "",
        TemplateView.as_view(template_name="home.html", extra_context={"version": settings.ACCUNODE_VERSION}),
        name="home",
    ),
    path("health", health.liveness, name="health"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

handler400 = "accunode.api.handlers.bad_request"
handler403 = "accunode.api.handlers.permission_denied"
handler404 = "accunode.api.handlers.page_not_found"
handler500 = "accunode.api.handlers.server_error"
