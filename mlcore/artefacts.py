"""Model artefacts: on-disk layout, checksum manifest, and the once-per-process, thread-safe loader.

Layout of one kind (``artefacts/annual/``, ``artefacts/quarterly/``)::

    manifest.json     {"kind", "model_version", "files": {file name: sha256}}
    ensemble.json     members (name, type, file, features, weight) and calibration (slope, intercept)
    logistic.json     logistic member: coefficients, intercept, medians, winsor bounds, means, scales
    *.txt             LightGBM text models (``Booster.save_model``)
    model_card.json   features, data sha256, windows, validation metrics, Altman Z baseline, reliability table

No pickle anywhere: every file is JSON or LightGBM text. Every file listed in the manifest is checked against
its sha256 before use; a missing, altered or unreadable artefact raises :class:`ModelArtefactError` (never a
silently wrong number). Set ``MLCORE_ARTEFACTS_DIR`` to serve artefacts from another directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .ensemble import Ensemble, LightGBMMember, LogisticMember, Member
from .features import FEATURE_NAMES
from .fields import KINDS

DEFAULT_ARTEFACTS_DIR = Path(__file__).resolve().parent / "artefacts"
MANIFEST = "manifest.json"
ENSEMBLE = "ensemble.json"
MODEL_CARD = "model_card.json"

_lock = threading.Lock()
_cache: dict[str, Ensemble] = {}


class ModelArtefactError(RuntimeError):
    """A model artefact is missing, corrupted or inconsistent; the model cannot serve."""


def artefacts_dir() -> Path:
    """Root directory of the artefacts (``MLCORE_ARTEFACTS_DIR`` or the package's ``artefacts/``)."""
    return Path(os.environ.get("MLCORE_ARTEFACTS_DIR") or DEFAULT_ARTEFACTS_DIR)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump_json(path: Path, data: Any) -> None:
    """Write JSON deterministically (sorted keys, fixed indentation, trailing newline)."""
    path.write_text(json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def write_manifest(directory: Path, kind: str, model_version: str) -> None:
    """Record the sha256 of every artefact file of ``directory`` (except the manifest)."""
    files = {p.name: sha256_file(p) for p in sorted(directory.iterdir()) if p.is_file() and p.name != MANIFEST}
    dump_json(directory / MANIFEST, {"kind": kind, "model_version": model_version, "files": files})


def _read_verified(directory: Path, kind: str) -> dict[str, bytes]:
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
    except FileNotFoundError as exc:
        raise ModelArtefactError(
            f"{kind} model: manifest {manifest_path} is missing; run `manage.py train_models`"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelArtefactError(f"{kind} model: manifest {manifest_path} is unreadable: {exc}") from exc
    for required in (ENSEMBLE, MODEL_CARD):
        if required not in files:
            raise ModelArtefactError(f"{kind} model: manifest does not list {required}")
    contents = {}
    for name, expected in files.items():
        path = directory / name
        if Path(name).name != name:
            raise ModelArtefactError(f"{kind} model: manifest names a file outside its directory: {name!r}")
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ModelArtefactError(f"{kind} model: artefact {path} is missing") from exc
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelArtefactError(f"{kind} model: artefact {path} fails its sha256 check (corrupted or edited)")
        contents[name] = data
    return contents


def load_ensemble(directory: Path, kind: str) -> Ensemble:
    """Load and verify one kind's ensemble from ``directory`` (no caching)."""
    contents = _read_verified(directory, kind)
    try:
        spec = json.loads(contents[ENSEMBLE])
        if spec["kind"] != kind:
            raise ValueError(f"ensemble.json is for kind {spec['kind']!r}")
        members: list[Member] = []
        for m in spec["members"]:
            unknown = set(m["features"]) - set(FEATURE_NAMES)
            if unknown:
                raise ValueError(f"member {m['name']!r} uses unknown features {sorted(unknown)}")
            if m["file"] not in contents:
                raise ValueError(f"member file {m['file']!r} is not in the manifest")
            raw = contents[m["file"]]
            if m["type"] == "logistic":
                member_spec = json.loads(raw)
                if member_spec["features"] != m["features"]:
                    raise ValueError(f"member {m['name']!r}: feature lists disagree")
                members.append(LogisticMember.from_json(m["name"], member_spec))
            elif m["type"] == "lightgbm":
                members.append(LightGBMMember(m["name"], raw.decode("utf-8"), list(m["features"])))
            else:
                raise ValueError(f"unknown member type {m['type']!r}")
        calibration = spec["calibration"]
        ensemble = Ensemble(
            kind=kind,
            version=str(spec["model_version"]),
            members=members,
            weights=np.asarray([m["weight"] for m in spec["members"]], dtype=float),
            slope=float(calibration["slope"]),
            intercept=float(calibration["intercept"]),
        )
    except ModelArtefactError:
        raise
    except Exception as exc:  # any malformed content is an artefact problem, reported as such
        raise ModelArtefactError(f"{kind} model: artefacts in {directory} are invalid: {exc}") from exc
    return ensemble


def get_ensemble(kind: str) -> Ensemble:
    """The process-wide ensemble of ``kind``, loaded and verified on first use (thread-safe)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    ensemble = _cache.get(kind)
    if ensemble is None:
        with _lock:
            ensemble = _cache.get(kind)
            if ensemble is None:
                ensemble = load_ensemble(artefacts_dir() / kind, kind)
                _cache[kind] = ensemble
    return ensemble


def reset_cache() -> None:
    """Forget loaded ensembles (tests, or after replacing artefacts on disk)."""
    with _lock:
        _cache.clear()


def read_model_card(kind: str, directory: Path | None = None) -> dict[str, Any]:
    """The verified model card of ``kind``."""
    contents = _read_verified((directory or artefacts_dir()) / kind, kind)
    return json.loads(contents[MODEL_CARD])
