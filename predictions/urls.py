"""Prediction API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AnnualPredictionViewSet, PredictionStatsView, QuarterlyPredictionViewSet

router = SimpleRouter()
router.register("predictions/annual", AnnualPredictionViewSet, basename="prediction-annual")
router.register("predictions/quarterly", QuarterlyPredictionViewSet, basename="prediction-quarterly")

urlpatterns = [
    path("predictions/stats/", PredictionStatsView.as_view(), name="prediction-stats"),
    *router.urls,
]
