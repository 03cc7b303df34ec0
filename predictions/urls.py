"""Prediction API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .bulk_views import BulkJobViewSet, BulkUploadView
from .views import AnnualPredictionViewSet, PredictionStatsView, QuarterlyPredictionViewSet

router = SimpleRouter()
router.register("predictions/annual", AnnualPredictionViewSet, basename="prediction-annual")
router.register("predictions/quarterly", QuarterlyPredictionViewSet, basename="prediction-quarterly")
router.register("jobs", BulkJobViewSet, basename="bulk-job")

urlpatterns = [
    path("predictions/stats/", PredictionStatsView.as_view(), name="prediction-stats"),
    path("predictions/bulk-upload/", BulkUploadView.as_view(), name="prediction-bulk-upload"),
    *router.urls,
]
