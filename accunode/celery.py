"""The Celery app. Only this package knows it; apps declare tasks with ``@shared_task``."""

import logging
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")

logger = logging.getLogger(__name__)

app = Celery("accunode")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def load_scoring_models(**kwargs) -> None:
    """Each process that runs tasks (a prefork child after its fork, or a solo worker) loads and verifies the scoring
    models when it starts, not in its first bulk job: importing LightGBM and loading the ensembles took ~1.3 s of
    the first job's time. Models that cannot load are logged here and fail the jobs with their usual message."""
    import mlcore

    try:
        mlcore.load_models()
    except mlcore.ModelArtefactError:
        logger.exception("Scoring models unavailable at worker start")
