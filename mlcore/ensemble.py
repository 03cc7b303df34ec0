"""Ensemble inference: members (logistic JSON, LightGBM text models), log-odds combination, calibration, drivers.

The calibrated log-odds of a row is ``slope * sum_m(weight_m * logit_m) + intercept`` with weights summing to 1,
so it also equals ``sum_m(weight_m * logit(component_m))`` where ``component_m`` is member *m*'s probability
under the same calibration (the ``components`` we report). Per-feature contributions (logistic: coefficient x
scaled value; LightGBM: exact ``pred_contrib`` SHAP values) are combined with the same weights and slope, so
``base + sum(contributions)`` equals the final calibrated log-odds exactly.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import FEATURE_NAMES

FloatArray = npt.NDArray[np.float64]

logger = logging.getLogger(__name__)


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


class _SingleRowContrib:
    """LightGBM's C API single-row predictor (``LGBM_BoosterPredictForMatSingleRowFast``) for ``pred_contrib``.

    ``Booster.predict`` costs ~100 µs of Python and setup per call, as much as the SHAP computation of a row;
    the fast C API sets the predictor up once and then only runs the row. It evaluates the same predictor
    function as ``Booster.predict(pred_contrib=True)`` (identical values, checked in ``tests/test_scoring.py``).
    A fast-config handle must not be shared between threads, so each thread gets its own (``threading.local``,
    freed when the thread ends or the member is dropped); each handle keeps the booster alive.
    """

    _PREDICT_CONTRIB = 3  # C_API_PREDICT_CONTRIB
    _DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64

    def __init__(self, booster: Any, num_features: int) -> None:
        from lightgbm import basic

        lib = ctypes.CDLL(basic._LIB._name)  # our own function objects: our argtypes do not touch lightgbm's
        self._init = lib.LGBM_BoosterPredictForMatSingleRowFastInit
        self._init.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int32,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_void_p),
        ]
        self._init.restype = ctypes.c_int
        self._predict = lib.LGBM_BoosterPredictForMatSingleRowFast
        self._predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p]
        self._predict.restype = ctypes.c_int
        self._free = lib.LGBM_FastConfigFree
        self._free.argtypes = [ctypes.c_void_p]
        self._free.restype = ctypes.c_int
        self._safe_call = basic._safe_call
        self.booster = booster
        self.num_features = num_features
        self._local = threading.local()
        self._handle()  # fail here (and fall back to Booster.predict) if the C API is not usable

    def _handle(self) -> _FastHandle:
        handle: _FastHandle | None = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._local.handle = _FastHandle(self)
        return handle

    def __call__(self, row: FloatArray) -> FloatArray:
        """``num_features + 1`` values (contributions, then the expected value) of one row (1-D, float64)."""
        handle = self._handle()
        handle.row[:] = row
        ret = self._predict(handle.ptr, handle.row_address, handle.out_len_ref, handle.out_address)
        if ret:
            self._safe_call(ret)
        if handle.out_len.value != handle.out.size:
            raise ValueError("LightGBM returned a contribution row of the wrong length")
        return handle.out.copy()


class _FastHandle:
    """One thread's fast-config handle and row buffers (see :class:`_SingleRowContrib`)."""

    def __init__(self, owner: _SingleRowContrib) -> None:
        self.booster = owner.booster  # kept alive while the handle exists (no reference back to the owner)
        self._free = owner._free
        self.ptr = ctypes.c_void_p()
        owner._safe_call(
            owner._init(
                owner.booster._handle,
                owner._PREDICT_CONTRIB,
                0,  # start iteration
                owner.booster.best_iteration,  # -1 (all trees) unless trained with early stopping, as predict()
                owner._DTYPE_FLOAT64,
                owner.num_features,
                b"num_threads=1",
                ctypes.byref(self.ptr),
            )
        )
        self.out_len = ctypes.c_int64(0)
        self.out_len_ref = ctypes.byref(self.out_len)
        # this thread's input and output buffers, allocated once (their addresses are all a call passes)
        self.row = np.empty(owner.num_features)
        self.row_address = self.row.ctypes.data
        self.out = np.empty(owner.num_features + 1)
        self.out_address = self.out.ctypes.data

    def __del__(self) -> None:
        if self.ptr:
            ptr, self.ptr = self.ptr, ctypes.c_void_p()
            with contextlib.suppress(Exception):  # interpreter shutdown: the library may already be gone
                self._free(ptr)


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
        self._single: _SingleRowContrib | None
        try:
            self._single = _SingleRowContrib(self.booster, len(features))
        except Exception as exc:  # an odd LightGBM build: Booster.predict gives the same values, only slower
            logger.warning("LightGBM fast single-row predictor unavailable for %r (%s); using predict()", name, exc)
            self._single = None

    def logit(self, x: FloatArray, num_threads: int = 1) -> FloatArray:
        return self.booster.predict(x, raw_score=True, num_threads=num_threads)

    def contributions(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(n x k exact SHAP contributions to the raw log-odds, n expected values); ``pred_contrib``."""
        if len(x) == 1 and self._single is not None:
            out = self._single(x[0])[np.newaxis, :]
        else:
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
    _views: list[npt.NDArray[np.intp] | slice] | None = None

    def __post_init__(self) -> None:
        index = {name: i for i, name in enumerate(FEATURE_NAMES)}
        self._columns = [np.array([index[f] for f in m.features], dtype=np.intp) for m in self.members]
        # decompose(): a member on every feature in model order takes x itself (a view, no copy)
        self._views = [
            slice(None) if tuple(m.features) == FEATURE_NAMES else c
            for m, c in zip(self.members, self._columns, strict=True)
        ]
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
        for j, (member, columns, weight) in enumerate(zip(self.members, self._views or [], self.weights, strict=True)):
            contrib, member_base = member.contributions(x[:, columns])
            raw[:, j] = contrib.sum(axis=1) + member_base
            total[:, columns] += self.slope * weight * contrib
            base += self.slope * weight * member_base
        return total, base, raw

    def decompose_one(self, x: FloatArray) -> tuple[FloatArray, float, list[float]]:
        """:meth:`decompose` of one row ``x`` (1-D, all features): (contributions, base, raw member log-odds).

        The same arithmetic in the same order with fewer, 1-D numpy calls (a single company is dominated by
        per-call overhead); the values are bitwise those of ``decompose(x[np.newaxis])`` (``tests/test_scoring.py``).
        """
        total = np.zeros(len(FEATURE_NAMES))
        base = float(self.intercept)
        raw = []
        row = x[np.newaxis, :]
        for member, columns, weight in zip(self.members, self._views or [], self.weights, strict=True):
            contrib, member_base = member.contributions(row[:, columns])
            member_base_value = float(member_base[0])
            raw.append(float(contrib.sum(axis=1)[0]) + member_base_value)
            factor = float(self.slope * weight)  # decompose() also multiplies slope * weight first
            total[columns] += factor * contrib[0]
            base += factor * member_base_value
        return total, base, raw

    def contributions(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(n x features contributions to the calibrated log-odds, n base values); they sum to the final logit."""
        total, base, _ = self.decompose(x)
        return total, base
