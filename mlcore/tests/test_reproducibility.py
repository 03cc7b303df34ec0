"""Same seed, same data -> byte-identical artefacts (on a small subsample with tiny members, to stay fast)."""

from __future__ import annotations

from dataclasses import replace

from mlcore.artefacts import load_ensemble
from mlcore.training import MemberConfig, TrainConfig, _lgb, train_models


def _tiny_config() -> TrainConfig:
    base = TrainConfig()
    lightgbm = MemberConfig(
        "lightgbm", "lightgbm", candidates=(_lgb(num_leaves=4, min_child_samples=20),), rounds=(15, 25)
    )
    logistic = MemberConfig("logistic", "logistic", candidates=({"C": 0.3},))
    return replace(
        base,
        sample_fraction=0.1,
        calibration_folds=2,
        annual_members=(logistic, lightgbm),
        quarterly_members=(logistic, lightgbm, replace(base.quarterly_members[2], rounds=(10,))),
    )


def test_same_seed_gives_identical_bytes(tmp_path):
    quiet = lambda line: None  # noqa: E731
    for out in ("one", "two"):
        train_models(out_dir=tmp_path / out, seed=7, config=_tiny_config(), log=quiet)
    for kind in ("annual", "quarterly"):
        one, two = tmp_path / "one" / kind, tmp_path / "two" / kind
        names = sorted(p.name for p in one.iterdir())
        assert names == sorted(p.name for p in two.iterdir())
        assert "manifest.json" in names and "model_card.json" in names
        for name in names:
            assert (one / name).read_bytes() == (two / name).read_bytes(), f"{kind}/{name} differs"
        assert load_ensemble(one, kind).version == load_ensemble(two, kind).version
