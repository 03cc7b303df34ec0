"""API routes of predictions."""

urlpatterns = []
