"""API routes of organizations."""

urlpatterns = []
