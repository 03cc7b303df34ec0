"""Training: time-split validation, member fitting, ensemble weights, calibration, artefacts and model card.

Protocol (``docs/ML.md``): fit on fiscal years <= 2011, choose hyper-parameters, ensemble weights and the
calibration method on 2012-2014, then refit on 1999-2014 for the shipped artefacts; the reported figures are the
2012-2014 ones.

Calibration is a Platt-type map of the combined log-odds: its slope is fitted on out-of-fold log-odds of the
training window (folds grouped by company, so a firm never informs its own prediction), which carries over to
refit models; its level is set so that the mean PD of the 2012-2014 rows equals their observed default rate (the
most recent years, the protocol's calibration window). The 2012-2014 mean PD therefore matches by construction;
the model card also reports the mean PD that the training window's own level would give (out-of-time check),
the reliability table and Hosmer-Lemeshow, which test the shape, not the level.

Missing optional items are imputed in ``features.py`` (the data itself has no gaps); the model card reports
the validation figures of the same rows scored without market value (private-firm mode). Quarterly members are
trained on annual rows plus a copy whose flows carry a random common factor, mimicking the error of annualizing
one quarter x4 (no public quarterly default data exists).

Everything is deterministic for a given seed: LightGBM runs with ``deterministic=True``, row-wise histograms and
a fixed thread count; the logistic member is a bounded L-BFGS-B fit; JSON is written with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from . import artefacts
from .ensemble import LogisticMember, sigmoid
from .features import FEATURE_NAMES, FEATURES, derive_ratios
from .fields import FINANCIAL_FIELDS, FLOW_FIELDS
from .metrics import (
    altman_z_auc,
    classification_metrics,
    fast_average_precision,
    fast_roc_auc,
    reliability_table,
)

FloatArray = npt.NDArray[np.float64]

DEFAULT_DATA_PATH = Path(__file__).resolve().parent / "data" / "us_bankruptcy_1999_2014.csv.gz"
TARGET = "default_next_year"
TRAIN_LAST_YEAR = 2011
VALIDATION_YEARS = (2012, 2014)
TRAINING_THREADS = 1

ATTRIBUTION = (
    "Lombardo, G., Pellegrino, M., Adosoglou, G., Cagnoni, S., Pardalos, P. M., Poggi, A. (2022). Machine Learning "
    "for Bankruptcy Prediction in the American Stock Market: Dataset and Benchmarks. Future Internet 14(8), 244. "
    "Data: GitHub sowide/bankruptcy_dataset, licence CC BY 4.0."
)
QUARTERLY_NOTE = (
    "No public quarterly default data exists. The quarterly ensemble is trained on the annual firm-years, plus a copy "
    "whose flow items carry a random common factor (log-normal, sigma {sigma}) that mimics the error of annualizing "
    "a single quarter x4; at serving time quarterly statements are annualized (trailing twelve months when the three "
    "previous quarters are on file, else x4) and scored as annual-equivalent statements. Its validation figures are "
    "on annual 2012-2014 rows (as-is and with the same simulated annualization noise), not on real quarters."
)

BALANCE_SHEET_FEATURES: tuple[str, ...] = (
    "working_capital_to_total_assets",
    "retained_earnings_to_total_assets",
    "market_value_equity_to_total_liabilities",
    "total_liabilities_to_total_assets",
    "long_term_debt_to_total_assets",
    "current_liabilities_to_total_assets",
    "current_ratio",
    "quick_ratio",
    "other_current_assets_to_total_assets",
    "market_value_to_total_assets",
    "total_liabilities_to_market_assets",
    "other_current_assets_to_market_assets",
    "log_market_value",
    "log_total_assets",
    "market_value_missing",
)
"""Point-in-time features, untouched by annualization error: the quarterly ensemble's third, diverse member."""


@dataclass(frozen=True)
class MemberConfig:
    """One ensemble member and the candidate hyper-parameters tried on validation."""

    name: str
    kind: str  # "logistic" | "lightgbm"
    features: tuple[str, ...] = FEATURE_NAMES
    candidates: tuple[dict[str, Any], ...] = ()
    rounds: tuple[int, ...] = ()


_LGB_BASE: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "monotone_constraints_method": "advanced",
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": TRAINING_THREADS,
}


def _lgb(**overrides: Any) -> dict[str, Any]:
    return {**_LGB_BASE, **overrides}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes the artefacts besides the data and the seed."""

    seed: int = 42
    annual_members: tuple[MemberConfig, ...] = (
        MemberConfig("logistic", "logistic", candidates=({"C": 0.03}, {"C": 0.3})),
        MemberConfig(
            "lightgbm",
            "lightgbm",
            candidates=(
                _lgb(num_leaves=4, min_child_samples=50, feature_fraction=0.5, lambda_l2=1.0),
                _lgb(num_leaves=8, min_child_samples=100, feature_fraction=0.5, lambda_l2=10.0),
            ),
            rounds=(250, 350, 450),
        ),
    )
    quarterly_members: tuple[MemberConfig, ...] = (
        MemberConfig("logistic", "logistic", candidates=({"C": 0.03}, {"C": 0.3})),
        MemberConfig(
            "lightgbm",
            "lightgbm",
            candidates=(_lgb(num_leaves=8, min_child_samples=100, feature_fraction=0.5, lambda_l2=10.0),),
            rounds=(200, 300, 400),
        ),
        MemberConfig(
            "balance_sheet_trees",
            "lightgbm",
            features=BALANCE_SHEET_FEATURES,
            candidates=(
                _lgb(num_leaves=8, min_child_samples=200, feature_fraction=0.7, lambda_l2=10.0, extra_trees=True),
            ),
            rounds=(150, 250),
        ),
    )
    quarterly_noise_sigma: float = 0.25
    calibration_folds: int = 4
    min_member_weight: float = 0.05
    weight_step: float = 0.05
    sample_fraction: float = 1.0  # < 1 only for fast tests


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(hashlib.sha256(purpose.encode()).hexdigest()[:8], 16)])


def load_data(path: Path | str = DEFAULT_DATA_PATH) -> pd.DataFrame:
    """Read the labelled training file (csv or csv.gz) and check its columns."""
    frame = pd.read_csv(path)
    missing = [c for c in ("company_id", "fiscal_year", TARGET, *FINANCIAL_FIELDS) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def perturb_flows(frame: pd.DataFrame, sigma: float, rng: np.random.Generator) -> pd.DataFrame:
    """Copy of ``frame`` whose flow items are multiplied by one log-normal factor per row (x4 annualization noise)."""
    out = frame.copy()
    factor = np.exp(rng.normal(0.0, sigma, size=len(frame)))
    for f in FLOW_FIELDS:
        out[f] = out[f].to_numpy(dtype=float) * factor
    return out


def fit_logistic(
    name: str, x: FloatArray, y: npt.NDArray[np.int_], features: tuple[str, ...], c: float
) -> LogisticMember:
    """L2-regularised logistic regression whose coefficient signs respect the features' economic direction."""
    z = np.arcsinh(x)
    median = np.nanmedian(np.where(np.isnan(z).all(axis=0), 0.0, z), axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    z = np.where(np.isnan(z), median, z)
    lower, upper = np.quantile(z, 0.01, axis=0), np.quantile(z, 0.99, axis=0)
    zc = np.clip(z, lower, upper)
    mean, scale = zc.mean(axis=0), zc.std(axis=0)
    scale = np.where(scale < 1e-9, 1.0, scale)
    s = (zc - mean) / scale
    yf = y.astype(float)
    k = s.shape[1]

    def objective(params: FloatArray) -> tuple[float, FloatArray]:
        w, b = params[:k], params[k]
        t = s @ w + b
        loss = float(np.sum(np.logaddexp(0.0, t) - yf * t) + 0.5 / c * w @ w)
        r = sigmoid(t) - yf
        return loss, np.concatenate([s.T @ r + w / c, [r.sum()]])

    sign = {f.name: f.monotone for f in FEATURES}
    bounds = [(0.0, None) if sign[f] > 0 else (None, 0.0) if sign[f] < 0 else (None, None) for f in features]
    start = np.zeros(k + 1)
    start[k] = np.log(yf.mean() / (1 - yf.mean()))
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[*bounds, (None, None)],
        options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8},
    )
    coef = result.x[:k]
    coef = np.where(np.abs(coef) < 1e-12, 0.0, coef)
    return LogisticMember(name, list(features), median, lower, upper, mean, scale, coef, float(result.x[k]))


def fit_lightgbm(
    x: FloatArray, y: npt.NDArray[np.int_], features: tuple[str, ...], params: dict[str, Any], rounds: int, seed: int
) -> lgb.Booster:
    """LightGBM with monotone constraints from ``FEATURES`` (deterministic for a given seed)."""
    sign = {f.name: f.monotone for f in FEATURES}
    full = {**params, "seed": seed, "monotone_constraints": [sign[f] for f in features]}
    data = lgb.Dataset(x, label=y, feature_name=list(features), params={"verbose": -1}, free_raw_data=True)
    return lgb.train(full, data, num_boost_round=rounds)


def _columns(features: tuple[str, ...]) -> list[int]:
    return [FEATURE_NAMES.index(f) for f in features]


def _score(y: npt.NDArray[np.int_], logit: FloatArray) -> float:
    """Selection criterion on validation: ROC AUC + 0.5 PR AUC (ranking quality, where defaults are rare)."""
    return fast_roc_auc(y, logit) + 0.5 * fast_average_precision(y, logit)


@dataclass
class FittedMember:
    config: MemberConfig
    params: dict[str, Any]
    rounds: int
    model: LogisticMember | lgb.Booster

    def logit(self, x: FloatArray) -> FloatArray:
        xm = x[:, _columns(self.config.features)]
        if isinstance(self.model, LogisticMember):
            return self.model.logit(xm)
        return self.model.predict(xm, raw_score=True, num_threads=TRAINING_THREADS)


def fit_member(
    cfg: MemberConfig, params: dict[str, Any], rounds: int, x: FloatArray, y: npt.NDArray[np.int_], seed: int
) -> FittedMember:
    xm = x[:, _columns(cfg.features)]
    if cfg.kind == "logistic":
        return FittedMember(cfg, params, 0, fit_logistic(cfg.name, xm, y, cfg.features, params["C"]))
    return FittedMember(cfg, params, rounds, fit_lightgbm(xm, y, cfg.features, params, rounds, seed))


def select_member(
    cfg: MemberConfig,
    x_tr: FloatArray,
    y_tr: npt.NDArray[np.int_],
    x_va: FloatArray,
    y_va: npt.NDArray[np.int_],
    seed: int,
) -> tuple[FittedMember, list[dict[str, Any]]]:
    """Fit every candidate on the training window and keep the best on validation."""
    best: tuple[float, FittedMember] | None = None
    trials = []
    for params in cfg.candidates:
        if cfg.kind == "logistic":
            fitted = fit_member(cfg, params, 0, x_tr, y_tr, seed)
            options = [(fitted, fitted.logit(x_va))]
        else:
            fitted = fit_member(cfg, params, max(cfg.rounds), x_tr, y_tr, seed)
            xm = x_va[:, _columns(cfg.features)]
            options = []
            for r in cfg.rounds:
                logit = fitted.model.predict(xm, raw_score=True, num_iteration=r, num_threads=TRAINING_THREADS)
                options.append((FittedMember(cfg, params, r, fitted.model), logit))
        for option, logit in options:
            score = _score(y_va, logit)
            trials.append({"params": _public_params(option.params), "rounds": option.rounds, "score": round(score, 4)})
            if best is None or score > best[0] + 1e-12:
                best = (score, option)
    assert best is not None
    chosen = best[1]
    if chosen.config.kind == "lightgbm" and chosen.rounds != chosen.model.current_iteration():
        # refit at the chosen size so the member (and its text model) holds exactly the chosen trees
        chosen = fit_member(cfg, chosen.params, chosen.rounds, x_tr, y_tr, seed)
    return chosen, trials


def _public_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(params.items()) if k not in ("verbose", "num_threads")}


def choose_weights(logits: FloatArray, y: npt.NDArray[np.int_], config: TrainConfig) -> FloatArray:
    """Ensemble weights (summing to 1, each >= min_member_weight) maximising the validation criterion."""
    m = logits.shape[1]
    steps = round(1 / config.weight_step)
    low = round(config.min_member_weight / config.weight_step)
    best: tuple[float, FloatArray] | None = None
    grid = np.array(np.meshgrid(*[np.arange(low, steps + 1)] * (m - 1), indexing="ij")).reshape(m - 1, -1).T
    for head in grid:
        last = steps - head.sum()
        if last < low:
            continue
        w = np.append(head, last) / steps
        score = _score(y, logits @ w)
        if best is None or score > best[0] + 1e-12:
            best = (score, w)
    assert best is not None
    return best[1]


def fit_calibration(logit: FloatArray, y: npt.NDArray[np.int_], method: str) -> float:
    """Slope of the calibration: a Platt fit on out-of-fold combined log-odds, or 1 for a pure intercept shift."""
    if method == "intercept":
        return 1.0
    yf = y.astype(float)

    def nll(params: FloatArray) -> tuple[float, FloatArray]:
        t = params[0] * logit + params[1]
        r = sigmoid(t) - yf
        return float(np.sum(np.logaddexp(0.0, t) - yf * t)), np.array([float(r @ logit), float(r.sum())])

    return float(minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x[0])


def intercept_for_rate(logit: FloatArray, slope: float, rate: float) -> float:
    """Intercept b such that mean(sigmoid(slope * logit + b)) equals ``rate`` (bisection, monotone in b)."""
    lo, hi = -50.0, 50.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if sigmoid(slope * logit + mid).mean() < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def oof_logits(
    members: list[FittedMember],
    frame: pd.DataFrame,
    prepare: Callable[[pd.DataFrame, str], pd.DataFrame],
    config: TrainConfig,
    weights: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.int_]]:
    """Out-of-fold combined log-odds of ``frame`` with folds grouped by company (augmentation inside each fold)."""
    companies = np.sort(frame["company_id"].astype(str).unique())
    rng = _rng(config.seed, "folds")
    fold_of = dict(zip(companies, rng.permutation(len(companies)) % config.calibration_folds, strict=True))
    fold = frame["company_id"].astype(str).map(fold_of).to_numpy()
    out = np.zeros(len(frame))
    for k in range(config.calibration_folds):
        train = prepare(frame[fold != k], f"fold{k}")
        x_tr = derive_ratios(train).to_numpy()
        y_tr = train[TARGET].to_numpy(dtype=int)
        x_ho = derive_ratios(frame[fold == k]).to_numpy()
        logits = np.column_stack(
            [fit_member(m.config, m.params, m.rounds, x_tr, y_tr, config.seed).logit(x_ho) for m in members]
        )
        out[fold == k] = logits @ weights
    return out, frame[TARGET].to_numpy(dtype=int)


def _metrics_block(y: npt.NDArray[np.int_], p: FloatArray) -> dict[str, Any]:
    return classification_metrics(y, p)


def train_kind(
    kind: str,
    data: pd.DataFrame,
    config: TrainConfig,
    data_sha256: str,
    out_dir: Path,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train, validate and write one kind's artefacts into ``out_dir / kind``; returns the model card."""
    member_cfgs = config.annual_members if kind == "annual" else config.quarterly_members
    noise_rng = _rng(config.seed, "noise-" + kind)

    def prepare(frame: pd.DataFrame, purpose: str) -> pd.DataFrame:
        if kind == "quarterly":
            frame = pd.concat(
                [frame, perturb_flows(frame, config.quarterly_noise_sigma, _rng(config.seed, "q-" + purpose))],
                ignore_index=True,
            )
        return frame

    train_frame = data[data["fiscal_year"] <= TRAIN_LAST_YEAR]
    valid_frame = data[data["fiscal_year"].between(*VALIDATION_YEARS)]
    if kind == "quarterly":
        valid_frame = pd.concat(
            [valid_frame, perturb_flows(valid_frame, config.quarterly_noise_sigma, noise_rng)], ignore_index=True
        )
    train_aug = prepare(train_frame, "train")
    x_tr, y_tr = derive_ratios(train_aug).to_numpy(), train_aug[TARGET].to_numpy(dtype=int)
    valid_ratios = derive_ratios(valid_frame)
    x_va, y_va = valid_ratios.to_numpy(), valid_frame[TARGET].to_numpy(dtype=int)

    fitted, trials = [], {}
    for cfg in member_cfgs:
        member, member_trials = select_member(cfg, x_tr, y_tr, x_va, y_va, config.seed)
        fitted.append(member)
        trials[cfg.name] = member_trials
        log(f"[{kind}] {cfg.name}: chosen {_public_params(member.params)} rounds={member.rounds}")
    va_logits = np.column_stack([m.logit(x_va) for m in fitted])
    weights = choose_weights(va_logits, y_va, config)
    log(f"[{kind}] weights {dict(zip([m.config.name for m in fitted], weights.round(3).tolist(), strict=True))}")

    # calibration: slope from grouped out-of-fold log-odds of the training window; level set to the recent
    # (2012-2014) default rate, the calibration window of the protocol; method chosen on validation log loss
    oof, y_oof = oof_logits(fitted, train_frame, prepare, config, weights)
    va_combined = va_logits @ weights
    recent_rate = float(data.loc[data["fiscal_year"].between(*VALIDATION_YEARS), TARGET].mean())
    calibrations = {}
    for m in ("platt", "intercept"):
        a = fit_calibration(oof, y_oof, m)
        calibrations[m] = (a, intercept_for_rate(va_combined, a, recent_rate))
    val_loss = {
        m: log_loss(y_va, np.clip(sigmoid(a * va_combined + b), 1e-12, 1 - 1e-12), labels=[0, 1])
        for m, (a, b) in calibrations.items()
    }
    method = min(val_loss, key=lambda m: (val_loss[m], m))
    slope, intercept = calibrations[method]
    # out-of-time check of the level: the intercept that matches the training window's own out-of-fold rate
    oot_intercept = intercept_for_rate(oof, slope, float(y_oof.mean()))
    p_va = sigmoid(slope * va_combined + intercept)
    validation = _metrics_block(y_va, p_va)
    validation["members_roc_auc"] = {
        m.config.name: round(float(roc_auc_score(y_va, va_logits[:, i])), 4) for i, m in enumerate(fitted)
    }
    validation["members_pr_auc"] = {
        m.config.name: round(float(average_precision_score(y_va, va_logits[:, i])), 4) for i, m in enumerate(fitted)
    }
    validation["altman_z_roc_auc"] = altman_z_auc(y_va, valid_ratios["altman_z_score"].to_numpy())
    validation["reliability_by_decile"] = reliability_table(y_va, p_va)
    validation["calibration_log_loss"] = {m: round(float(v), 6) for m, v in sorted(val_loss.items())}
    validation["mean_pd_with_training_window_level"] = round(
        float(sigmoid(slope * va_combined + oot_intercept).mean()), 6
    )
    # the same validation rows scored as private firms (no market value)
    x_priv = derive_ratios(valid_frame.assign(market_value=np.nan)).to_numpy()
    p_priv = sigmoid(slope * (np.column_stack([m.logit(x_priv) for m in fitted]) @ weights) + intercept)
    validation["without_market_value"] = {
        k: v
        for k, v in _metrics_block(y_va, p_priv).items()
        if k in ("roc_auc", "pr_auc", "brier", "mean_pd", "mean_pd_to_observed")
    }
    log(
        f"[{kind}] validation {VALIDATION_YEARS[0]}-{VALIDATION_YEARS[1]}: "
        + ", ".join(
            f"{k}={validation[k]}"
            for k in (
                "roc_auc",
                "pr_auc",
                "brier",
                "brier_base_rate",
                "altman_z_roc_auc",
                "mean_pd",
                "observed_default_rate",
                "ks",
            )
        )
    )

    # refit on every year with the chosen settings; recalibrate the same way on grouped out-of-fold log-odds
    full_aug = prepare(data, "full")
    x_full, y_full = derive_ratios(full_aug).to_numpy(), full_aug[TARGET].to_numpy(dtype=int)
    final = [fit_member(m.config, m.params, m.rounds, x_full, y_full, config.seed) for m in fitted]
    oof_full, y_oof_full = oof_logits(final, data, prepare, config, weights)
    slope_full = fit_calibration(oof_full, y_oof_full, method)
    recent = data["fiscal_year"].between(*VALIDATION_YEARS).to_numpy()
    intercept_full = intercept_for_rate(oof_full[recent], slope_full, recent_rate)

    card = _write_artefacts(
        kind,
        final,
        weights,
        method,
        slope_full,
        intercept_full,
        out_dir / kind,
        {
            "validation": validation,
            "selection_trials": trials,
            "data": {
                "file": "us_bankruptcy_1999_2014.csv.gz",
                "sha256": data_sha256,
                "rows": len(data),
                "defaults": int(data[TARGET].sum()),
                "target": TARGET,
                "fiscal_years": [int(data["fiscal_year"].min()), int(data["fiscal_year"].max())],
            },
            "config": {
                "seed": config.seed,
                "sample_fraction": config.sample_fraction,
                "quarterly_noise_sigma": config.quarterly_noise_sigma if kind == "quarterly" else None,
                "calibration_folds": config.calibration_folds,
            },
            "validation_calibration": {"method": method, "slope": round(slope, 6), "intercept": round(intercept, 6)},
        },
    )
    return card


def _write_artefacts(
    kind: str,
    members: list[FittedMember],
    weights: FloatArray,
    method: str,
    slope: float,
    intercept: float,
    directory: Path,
    extra: dict[str, Any],
) -> dict[str, Any]:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    member_specs = []
    for member, weight in zip(members, weights, strict=True):
        if isinstance(member.model, LogisticMember):
            file_name = f"{member.config.name}.json"
            artefacts.dump_json(directory / file_name, member.model.to_json())
            member_type = "logistic"
        else:
            file_name = f"{member.config.name}.txt"
            (directory / file_name).write_text(member.model.model_to_string(), encoding="utf-8")
            member_type = "lightgbm"
        member_specs.append(
            {
                "name": member.config.name,
                "type": member_type,
                "file": file_name,
                "features": list(member.config.features),
                "weight": float(weight),
                "hyperparameters": _public_params(member.params),
                "rounds": member.rounds,
            }
        )
    digest = hashlib.sha256()
    for spec in member_specs:
        digest.update((directory / spec["file"]).read_bytes())
    digest.update(json.dumps([weights.tolist(), slope, intercept]).encode())
    version = f"{kind}-1.0-{digest.hexdigest()[:10]}"
    artefacts.dump_json(
        directory / artefacts.ENSEMBLE,
        {
            "kind": kind,
            "model_version": version,
            "members": member_specs,
            "calibration": {"method": method, "slope": slope, "intercept": intercept},
        },
    )
    validation = extra["validation"]
    floors = {
        "roc_auc_ge_0.92": validation["roc_auc"] >= 0.92,
        "pr_auc_ge_0.20": validation["pr_auc"] >= 0.20,
        "brier_below_base_rate": validation["brier"] < validation["brier_base_rate"],
        "beats_altman_z_by_0.12": validation["roc_auc"] - validation["altman_z_roc_auc"] >= 0.12,
        "mean_pd_within_20pct": abs(validation["mean_pd_to_observed"] - 1) <= 0.2,
    }
    card = {
        "kind": kind,
        "model_version": version,
        "horizon": "probability of Chapter 7/11 filing within one year (default_next_year)",
        "units": "financial amounts in millions of USD",
        "features": [
            {"name": f.name, "description": f.description, "monotone": f.monotone, "clip": [f.lower, f.upper]}
            for f in FEATURES
        ],
        "members": [{k: v for k, v in s.items() if k != "file"} for s in member_specs],
        "ensemble": {
            "combination": "weighted sum of member log-odds",
            "weights": {s["name"]: s["weight"] for s in member_specs},
            "calibration": {
                "method": method,
                "slope": slope,
                "intercept": intercept,
                "fitted_on": "slope: grouped out-of-fold log-odds of 1999-2014; level: mean PD of the 2012-2014 "
                "out-of-fold rows = their observed default rate",
            },
        },
        "training_window": [1999, 2014],
        "validation_protocol": f"members fitted on fiscal years <= {TRAIN_LAST_YEAR}; hyper-parameters, weights and "
        f"calibration method chosen on {VALIDATION_YEARS[0]}-{VALIDATION_YEARS[1]}; shipped "
        "members refitted on 1999-2014",
        "validation_window": list(VALIDATION_YEARS),
        "quality_floor": floors,
        "drivers": "per-feature contributions to the final calibrated log-odds (logistic: coefficient x scaled value; "
        "LightGBM: pred_contrib SHAP), combined with the ensemble weights and calibration slope; "
        "base + sum(contributions) = calibrated log-odds",
        "missing_values": "optional items re-derived by accounting identities, else imputed from the statement's own "
        "items with fixed typical proportions (features.py); see validation.without_market_value",
        "attribution": ATTRIBUTION,
        "notes": QUARTERLY_NOTE.format(sigma=extra["config"]["quarterly_noise_sigma"])
        if kind == "quarterly"
        else "Annual statements, one statement per prediction (no multi-year features).",
        "lightgbm_version": lgb.__version__,
        **extra,
    }
    artefacts.dump_json(directory / artefacts.MODEL_CARD, _round_floats(card))
    artefacts.write_manifest(directory, kind, version)
    return card


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 8)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round_floats(v) for v in value]
    if isinstance(value, np.generic):
        return _round_floats(value.item())
    return value


def train_models(
    data_path: Path | str = DEFAULT_DATA_PATH,
    out_dir: Path | str | None = None,
    seed: int = 42,
    config: TrainConfig | None = None,
    kinds: tuple[str, ...] = ("annual", "quarterly"),
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Train the requested kinds and write their artefacts under ``out_dir`` (default: the shipped directory)."""
    config = replace(config or TrainConfig(), seed=seed)
    out = Path(out_dir) if out_dir is not None else artefacts.DEFAULT_ARTEFACTS_DIR
    data_sha = artefacts.sha256_file(Path(data_path))
    data = load_data(data_path)
    if config.sample_fraction < 1.0:
        rng = _rng(config.seed, "sample")
        companies = np.sort(data["company_id"].astype(str).unique())
        keep = set(companies[rng.random(len(companies)) < config.sample_fraction])
        data = data[data["company_id"].astype(str).isin(keep)].reset_index(drop=True)
    cards = {}
    # one BLAS thread: idle BLAS threads spinning on a busy machine slow L-BFGS down by orders of magnitude
    with threadpool_limits(limits=1):
        for kind in kinds:
            cards[kind] = train_kind(kind, data, config, data_sha, out, log=log)
    return cards
