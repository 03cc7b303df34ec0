"""The Celery app's wiring: worker processes load the scoring models when they start."""

from unittest import mock

from celery.signals import worker_process_init

import mlcore


def test_worker_processes_load_the_scoring_models_when_they_start():
    with mock.patch.object(mlcore, "load_models") as load_models:
        worker_process_init.send(sender="worker@test")
    load_models.assert_called_once_with()


def test_a_worker_whose_models_cannot_load_keeps_running():
    with mock.patch.object(mlcore, "load_models", side_effect=mlcore.ModelArtefactError("missing")):
        worker_process_init.send(sender="worker@test")  # logged; jobs fail later with their usual message
