"""Offline CSV scoring and evaluation (the doors behind ``predict_csv`` and ``evaluate_models``); no database.

Files are the bulk-upload CSV of ``API.md`` (UTF-8, optional BOM): ``symbol``, ``name``, ``reporting_year``,
``reporting_quarter`` are optional here, the financial fields use their API names. Files are read in chunks,
so memory stays bounded by the chunk size (quarterly files also keep 12 numbers per row for annualization).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .annualize import annualize_frame
from .api import score_frame
from .features import derive_ratios
from .fields import FINANCIAL_FIELDS, FLOW_FIELDS, KINDS
from .metrics import altman_z_auc, classification_metrics, reliability_table
from .validation import FinancialsValidationError, check_frame_columns, numeric_financials, validate_financials_frame

DEFAULT_CHUNK_ROWS = 50_000
KEY_COLUMNS = ("symbol", "reporting_year", "reporting_quarter")
OUTPUT_COLUMNS = ("probability", "risk_level", "rating", "error")


def _chunks(path: Path | str, chunk_rows: int, usecols: list[str] | None = None) -> Iterator[pd.DataFrame]:
    yield from pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding="utf-8-sig", chunksize=chunk_rows, usecols=usecols
    )


def read_header(path: Path | str) -> list[str]:
    """Column names of a CSV file; raises FinancialsValidationError for a missing required column."""
    header = list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    problems = check_frame_columns(header)
    if problems:
        raise FinancialsValidationError(problems)
    return header


def _row_errors(index: pd.Index, errors: list[tuple[Any, str, str]]) -> pd.Series:
    by_row: dict[Any, list[str]] = defaultdict(list)
    for row, field, message in errors:
        by_row[row].append(f"{field}: {message}")
    return pd.Series({row: "; ".join(msgs) for row, msgs in by_row.items()}, dtype=object).reindex(index)


def _quarterly_annualization(path: Path | str, header: list[str], chunk_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """First pass over a quarterly file: annualized flows and basis for every row (by file position)."""
    keep = [c for c in (*KEY_COLUMNS, *FINANCIAL_FIELDS) if c in header]
    parts = []
    for chunk in _chunks(path, chunk_rows, usecols=keep):
        valid, _ = validate_financials_frame(chunk)
        numeric = numeric_financials(chunk)[list(FLOW_FIELDS)]
        keys = chunk[[c for c in KEY_COLUMNS if c in chunk.columns]].copy()
        if "symbol" in keys:
            keys.loc[~valid, "symbol"] = ""  # an invalid quarter never feeds another row's TTM
        parts.append(pd.concat([keys, numeric], axis=1))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keep)
    if "symbol" in frame:
        frame["symbol"] = frame["symbol"].replace("", pd.NA)
    annualized, basis = annualize_frame(frame)
    return annualized[list(FLOW_FIELDS)], basis


def predict_csv(
    input_path: Path | str,
    output_path: Path | str,
    kind: str = "annual",
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool | None = None,
) -> dict[str, int]:
    """Score every row of ``input_path`` into ``output_path`` (input columns + probability, risk_level, rating,
    error; quarterly files also get ``annualization``). A bad row gets its error and the file goes on.
    Returns ``{"rows", "scored", "failed"}``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    from tqdm import tqdm

    header = read_header(input_path)
    flows, basis = _quarterly_annualization(input_path, header, chunk_rows) if kind == "quarterly" else (None, None)
    counts = {"rows": 0, "scored": 0, "failed": 0}
    show = sys.stderr.isatty() if progress is None else progress
    offset = 0
    with open(output_path, "w", encoding="utf-8", newline="") as out, tqdm(unit="rows", disable=not show) as bar:
        for i, chunk in enumerate(_chunks(input_path, chunk_rows)):
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            valid, errors = validate_financials_frame(chunk)
            numeric = numeric_financials(chunk)
            n = len(chunk)
            probability = np.full(n, np.nan)
            risk_level = np.full(n, "", dtype=object)
            rating = np.full(n, "", dtype=object)
            error = np.full(n, "", dtype=object)
            if kind == "quarterly":
                assert flows is not None
                numeric[list(FLOW_FIELDS)] = flows.iloc[offset : offset + n].to_numpy()
            if valid.any():
                scores = score_frame(numeric[valid], kind)
                p = scores["probability"].to_numpy(dtype=float)
                ok = ~np.isnan(p)
                probability[valid] = p
                risk_level[np.flatnonzero(valid)[ok]] = scores["risk_level"].to_numpy(dtype=object)[ok]
                rating[np.flatnonzero(valid)[ok]] = scores["rating"].to_numpy(dtype=object)[ok]
                error[np.flatnonzero(valid)[~ok]] = "Could not be scored after annualization."
            messages = _row_errors(chunk.index, errors).to_numpy(dtype=object)
            error[~valid] = messages[~valid]
            result = pd.DataFrame(
                {"probability": probability, "risk_level": risk_level, "rating": rating, "error": error},
                index=chunk.index,
            )
            output = pd.concat([chunk, result], axis=1)
            if kind == "quarterly":
                assert basis is not None
                output["annualization"] = np.where(valid, basis[offset : offset + n], "")
            output.to_csv(out, index=False, header=(i == 0))
            n_ok = int((~np.isnan(probability)).sum())
            counts["rows"] += n
            counts["scored"] += n_ok
            counts["failed"] += n - n_ok
            offset += n
            bar.update(n)
        if offset == 0:  # empty file: still write the header
            out.write(",".join([*header, *OUTPUT_COLUMNS]) + "\n")
    return counts


def evaluate_csv(path: Path | str, kind: str = "annual", target: str = "default_next_year") -> dict[str, Any]:
    """Metrics of the ``kind`` model on a labelled CSV (rows failing validation or without a label are skipped)."""
    frame = pd.read_csv(path, encoding="utf-8-sig")
    if target not in frame.columns:
        raise ValueError(f"{path}: no {target!r} column")
    valid, _ = validate_financials_frame(frame)
    labelled = valid & frame[target].notna().to_numpy()
    rows = frame[labelled]
    y = rows[target].to_numpy(dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("the labelled rows need both defaults and non-defaults")
    numeric = numeric_financials(rows)
    p = score_frame(numeric, kind)["probability"].to_numpy()
    metrics = classification_metrics(y, p)
    metrics["altman_z_roc_auc"] = altman_z_auc(y, derive_ratios(numeric)["altman_z_score"].to_numpy())
    metrics["skipped_rows"] = int((~labelled).sum())
    metrics["reliability_by_decile"] = reliability_table(y, p)
    return metrics
