"""Evaluation measures for default models: ROC AUC, PR AUC, Brier, KS, reliability table, Altman Z baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def reliability_table(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> list[dict[str, float]]:
    """Observed vs mean predicted default rate by predicted-PD decile (equal-count bins, lowest PD first)."""
    y_arr, p_arr = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p_arr, kind="stable")
    table = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if idx.size == 0:
            continue
        table.append(
            {
                "decile": i,
                "rows": int(idx.size),
                "mean_pd": round(float(p_arr[idx].mean()), 6),
                "observed_rate": round(float(y_arr[idx].mean()), 6),
                "defaults": int(y_arr[idx].sum()),
                "max_pd": round(float(p_arr[idx].max()), 6),
            }
        )
    return table


def hosmer_lemeshow_p(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> float:
    """Hosmer-Lemeshow goodness-of-fit p-value over PD deciles (bins - 2 degrees of freedom)."""
    from scipy.stats import chi2

    y_arr, p_arr = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    stat = 0.0
    for idx in np.array_split(np.argsort(p_arr, kind="stable"), bins):
        expected, observed, n = p_arr[idx].sum(), y_arr[idx].sum(), idx.size
        stat += (observed - expected) ** 2 / (expected * (1 - expected / n))
    return float(chi2.sf(stat, bins - 2))


def ks_statistic(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of defaults and non-defaults."""
    y_arr, s = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    order = np.argsort(s, kind="stable")
    ys = y_arr[order]
    cum_pos = np.cumsum(ys) / max(ys.sum(), 1)
    cum_neg = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    return float(np.max(np.abs(cum_pos - cum_neg)))


def classification_metrics(y: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, Any]:
    """ROC AUC, PR AUC, Brier (and the base-rate Brier), log loss, KS and calibration of PDs ``p``."""
    y_arr, p_arr = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    rate = float(y_arr.mean())
    mean_pd = float(p_arr.mean())
    return {
        "rows": int(y_arr.size),
        "defaults": int(y_arr.sum()),
        "observed_default_rate": round(rate, 6),
        "mean_pd": round(mean_pd, 6),
        "mean_pd_to_observed": round(mean_pd / rate, 4) if rate else None,
        "roc_auc": round(float(roc_auc_score(y_arr, p_arr)), 4),
        "pr_auc": round(float(average_precision_score(y_arr, p_arr)), 4),
        "brier": round(float(brier_score_loss(y_arr, p_arr)), 6),
        "brier_base_rate": round(rate * (1 - rate), 6),
        "log_loss": round(float(log_loss(y_arr, np.clip(p_arr, 1e-12, 1 - 1e-12), labels=[0, 1])), 6),
        "ks": round(ks_statistic(y_arr, p_arr), 4),
        "hosmer_lemeshow_p": round(hosmer_lemeshow_p(y_arr, p_arr), 4),
    }


def altman_z_auc(y: npt.ArrayLike, altman_z: npt.ArrayLike) -> float:
    """ROC AUC of Altman's Z-score as a default predictor (lower Z = riskier)."""
    return round(float(roc_auc_score(np.asarray(y, dtype=int), -np.asarray(altman_z, dtype=float))), 4)


def fast_roc_auc(y: npt.NDArray[np.int_], score: npt.NDArray[np.float64]) -> float:
    """ROC AUC by ranks (ties averaged), for many evaluations inside training loops."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = y.size - n_pos
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fast_average_precision(y: npt.NDArray[np.int_], score: npt.NDArray[np.float64]) -> float:
    """Average precision (PR AUC as scikit-learn defines it, ties grouped), vectorised."""
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], dtype=int)
    ends = np.append(distinct, s.size - 1)
    tp = np.cumsum(t)[ends]
    fp = ends + 1 - tp
    precision = tp / (tp + fp)
    recall_step = np.diff(np.concatenate([[0], tp])) / max(tp[-1], 1)
    return float(np.sum(recall_step * precision))
