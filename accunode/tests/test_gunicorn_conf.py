"""gunicorn.conf.py: worker start-up (models loaded, long-lived objects frozen out of the garbage collector's walks)."""

from __future__ import annotations

import gc
import os
import runpy
from pathlib import Path

import pytest

from mlcore import artefacts

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture
def conf(monkeypatch):
    """gunicorn.conf.py's namespace; the environment it sets for the web processes is restored afterwards."""
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "")
    monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT")
    return runpy.run_path(str(CONF))


def test_web_processes_give_up_on_a_statement_after_30_seconds(conf):
    assert os.environ["DATABASE_STATEMENT_TIMEOUT"] == "30"


@pytest.fixture
def worker_start(conf):
    """``post_worker_init`` of gunicorn.conf.py, with the garbage collector and model cache restored afterwards."""
    threshold = gc.get_threshold()
    artefacts.reset_cache()
    gc.unfreeze()
    yield conf["post_worker_init"]
    gc.unfreeze()
    gc.set_threshold(*threshold)
    artefacts.reset_cache()


def _is_walked_by_the_collector(obj) -> bool:
    return any(tracked is obj for tracked in gc.get_objects())  # frozen objects are not listed


def test_a_worker_loads_the_models_then_freezes_them_with_everything_else(worker_start):
    worker_start(worker=None)

    ensemble = artefacts._cache["annual"]
    assert set(artefacts._cache) == {"annual", "quarterly"}
    assert gc.get_freeze_count() > 10_000  # Django, DRF and the rest of what the worker imported
    assert not _is_walked_by_the_collector(ensemble)
    assert gc.get_threshold() == (7_000, 10, 10)


def test_a_worker_starts_even_when_the_models_cannot_load(worker_start, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("MLCORE_ARTEFACTS_DIR", str(tmp_path))  # no artefacts there

    worker_start(worker=None)  # logged; the health check and scoring requests report it

    assert "Scoring models unavailable at worker start" in caplog.text
    assert artefacts._cache == {}
    assert gc.get_freeze_count() > 10_000
