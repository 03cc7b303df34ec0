"""API routes of accounts."""

urlpatterns = []
