"""Ensemble inference: members (logistic JSON, LightGBM text models), log-odds combination, calibration, drivers.

The calibrated log-odds of a row is ``slope * sum_m(weight_m * logit_m) + intercept`` with weights summing to 1,
so it also equals ``sum_m(weight_m * logit(component_m))`` where ``component_m`` is member *m*'s probability
under the same calibration (the ``components`` we report). Per-feature contributions (logistic: coefficient x
scaled value; LightGBM: exact ``pred_contrib`` SHAP values) are combined with the same weights and slope, so
``base + sum(contributions)`` equals the final calibrated log-odds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import FEATURE_NAMES

FloatArray = npt.NDArray[np.float64]


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """Logistic function, stable for large |x|."""
    x = np.asarray(x, dtype=float)
    return np.exp(-np.logaddexp(0.0, -x))


@dataclass
class LogisticMember:
    """Regularised logistic regression on asinh-transformed, winsorised, standardised features (JSON)."""

    name: str
    features: list[str]
    median: FloatArray
    lower: FloatArray
    upper: FloatArray
    mean: FloatArray
    scale: FloatArray
    coef: FloatArray
    intercept: float

    @classmethod
    def from_json(cls, name: str, spec: dict[str, Any]) -> LogisticMember:
        arrays = {k: np.asarray(spec[k], dtype=float) for k in ("median", "lower", "upper", "mean", "scale", "coef")}
        k = len(spec["features"])
        if any(a.shape != (k,) for a in arrays.values()) or not all(np.isfinite(a).all() for a in arrays.values()):
            raise ValueError("logistic parameters have the wrong shape or non-finite values")
        return cls(name=name, features=list(spec["features"]), intercept=float(spec["intercept"]), **arrays)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "logistic",
            "transform": "asinh",
            "features": self.features,
            "intercept": float(self.intercept),
            **{k: [float(v) for v in getattr(self, k)] for k in ("median", "lower", "upper", "mean", "scale", "coef")},
        }

    def scaled(self, x: FloatArray) -> FloatArray:
        """Model inputs: asinh, missing -> training median, winsorised, standardised."""
        z = np.arcsinh(x)
        z = np.where(np.isnan(z), self.median, z)
        return (np.clip(z, self.lower, self.upper) - self.mean) / self.scale

    def logit(self, x: FloatArray) -> FloatArray:
        return self.scaled(x) @ self.coef + self.intercept

    def contributions(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(n x k per-feature contributions, n base values)."""
        c = self.scaled(x) * self.coef
        return c, np.full(len(x), self.intercept)


class LightGBMMember:
    """A LightGBM booster loaded from its text model; ``features`` are the columns it was trained on."""

    def __init__(self, name: str, model_str: str, features: list[str]) -> None:
        import lightgbm as lgb

        self.name = name
        self.features = features
        self.booster = lgb.Booster(model_str=model_str)
        if self.booster.num_feature() != len(features):
            raise ValueError(
                f"LightGBM model {name!r} expects {self.booster.num_feature()} features, not {len(features)}"
            )

    def logit(self, x: FloatArray, num_threads: int = 1) -> FloatArray:
        return self.booster.predict(x, raw_score=True, num_threads=num_threads)

    def contributions(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        out = self.booster.predict(x, pred_contrib=True, num_threads=1)
        return out[:, :-1], out[:, -1]


Member = LogisticMember | LightGBMMember


@dataclass
class Ensemble:
    """Members with weights on the log-odds scale and a Platt calibration of the combined log-odds."""

    kind: str
    version: str
    members: list[Member]
    weights: FloatArray
    slope: float
    intercept: float
    _columns: list[npt.NDArray[np.intp]] | None = None

    def __post_init__(self) -> None:
        index = {name: i for i, name in enumerate(FEATURE_NAMES)}
        self._columns = [np.array([index[f] for f in m.features], dtype=np.intp) for m in self.members]
        if abs(float(np.sum(self.weights)) - 1.0) > 1e-9:
            raise ValueError("ensemble weights must sum to 1")

    @property
    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    def member_logits(self, x: FloatArray, num_threads: int = 1) -> FloatArray:
        """n x members matrix of raw member log-odds (x = full feature matrix)."""
        cols = []
        for member, columns in zip(self.members, self._columns or [], strict=True):
            xm = x[:, columns]
            if isinstance(member, LightGBMMember):
                cols.append(member.logit(xm, num_threads=num_threads))
            else:
                cols.append(member.logit(xm))
        return np.column_stack(cols)

    def calibrate(self, logit: FloatArray) -> FloatArray:
        return self.slope * logit + self.intercept

    def predict(self, x: FloatArray, num_threads: int = 1) -> tuple[FloatArray, FloatArray]:
        """(final probabilities, n x members component probabilities)."""
        raw = self.member_logits(x, num_threads=num_threads)
        final = self.calibrate(raw @ self.weights)
        return sigmoid(final), sigmoid(self.calibrate(raw))

    def decompose(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(n x features contributions to the calibrated log-odds, n base values, n x members raw log-odds).

        ``base + contributions.sum(axis=1)`` is the final calibrated log-odds; each member's raw log-odds is the
        sum of its own contributions and base (exact for both member types), so one pass gives everything.
        """
        total = np.zeros((len(x), len(FEATURE_NAMES)))
        base = np.full(len(x), self.intercept)
        raw = np.empty((len(x), len(self.members)))
        for j, (member, columns, weight) in enumerate(
            zip(self.members, self._columns or [], self.weights, strict=True)
        ):
            contrib, member_base = member.contributions(x[:, columns])
            raw[:, j] = contrib.sum(axis=1) + member_base
            total[:, columns] += self.slope * weight * contrib
            base += self.slope * weight * member_base
        return total, base, raw

    def contributions(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(n x features contributions to the calibrated log-odds, n base values); they sum to the final logit."""
        total, base, _ = self.decompose(x)
        return total, base
