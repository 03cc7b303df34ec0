"""The Celery app. Only this package knows it; apps declare tasks with ``@shared_task``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.local")

app = Celery("accunode")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
