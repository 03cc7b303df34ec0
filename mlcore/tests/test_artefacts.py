"""Artefact integrity: checksums verified at load, clear errors for missing or altered files, no pickle."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

import mlcore
from mlcore import artefacts
from mlcore.artefacts import DEFAULT_ARTEFACTS_DIR, ModelArtefactError, load_ensemble


@pytest.fixture
def artefact_copy(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "artefacts"
    shutil.copytree(DEFAULT_ARTEFACTS_DIR, root)
    monkeypatch.setenv("MLCORE_ARTEFACTS_DIR", str(root))
    artefacts.reset_cache()
    yield root
    artefacts.reset_cache()


def test_shipped_artefacts_load_and_report_ok():
    assert mlcore.models_status() == {"annual": "ok", "quarterly": "ok"}
    assert mlcore.model_version("annual").startswith("annual-")
    assert mlcore.model_version("quarterly").startswith("quarterly-")


def test_no_pickle_and_small():
    files = [p for p in DEFAULT_ARTEFACTS_DIR.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".txt"}
    assert sum(p.stat().st_size for p in files) < 5_000_000


@pytest.mark.parametrize("kind", ["annual", "quarterly"])
def test_tampered_model_is_refused(artefact_copy, kind):
    booster = artefact_copy / kind / "lightgbm.txt"
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=1", 1))
    with pytest.raises(ModelArtefactError, match="sha256"):
        mlcore.models_status()
    with pytest.raises(ModelArtefactError):
        mlcore.score_frame(pd.DataFrame(), kind)


def test_tampered_logistic_json_is_refused(artefact_copy):
    path = artefact_copy / "annual" / "logistic.json"
    spec = json.loads(path.read_text())
    spec["intercept"] += 1.0
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelArtefactError, match="sha256"):
        load_ensemble(artefact_copy / "annual", "annual")


def test_missing_file_is_refused(artefact_copy):
    (artefact_copy / "annual" / "lightgbm.txt").unlink()
    with pytest.raises(ModelArtefactError, match="missing"):
        load_ensemble(artefact_copy / "annual", "annual")


def test_missing_manifest_is_refused(artefact_copy):
    (artefact_copy / "quarterly" / "manifest.json").unlink()
    with pytest.raises(ModelArtefactError, match="manifest"):
        mlcore.models_status()


def test_inconsistent_content_with_valid_checksums_is_refused(artefact_copy):
    directory = artefact_copy / "annual"
    spec = json.loads((directory / "ensemble.json").read_text())
    spec["members"][0]["features"] = spec["members"][0]["features"][:-1]
    artefacts.dump_json(directory / "ensemble.json", spec)
    artefacts.write_manifest(directory, "annual", spec["model_version"])
    with pytest.raises(ModelArtefactError, match="invalid"):
        load_ensemble(directory, "annual")


def test_loaded_once_across_threads(artefact_copy, monkeypatch):
    calls = []
    real = artefacts.load_ensemble
    monkeypatch.setattr(artefacts, "load_ensemble", lambda d, k: calls.append(k) or real(d, k))
    threads = [threading.Thread(target=artefacts.get_ensemble, args=("annual",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["annual"]
