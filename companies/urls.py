"""API routes of companies."""

urlpatterns = []
