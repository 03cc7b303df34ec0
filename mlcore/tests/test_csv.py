"""Offline CSV scoring: bad rows get errors and never stop the file; quarterly rows use the file's own history."""

from __future__ import annotations

import pandas as pd
import pytest

import mlcore
from mlcore.csvio import evaluate_csv, predict_csv
from mlcore.validation import FinancialsValidationError


def _write(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_annual_file_with_bad_rows(tmp_path, typical):
    rows = [
        {"symbol": "ACME", "name": "Acme", "reporting_year": 2024, **typical},
        {"symbol": "BAD", "reporting_year": 2024, **typical, "total_assets": -5, "revenue": "lots"},
        {**typical, "market_value": ""},
    ]  # no symbol/name/year: still scored
    source = _write(tmp_path / "in.csv", rows)
    counts = predict_csv(source, tmp_path / "out.csv", "annual", chunk_rows=2, progress=False)
    assert counts == {"rows": 3, "scored": 2, "failed": 1}
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out.columns[-4:]) == ["probability", "risk_level", "rating", "error"]
    assert float(out.loc[0, "probability"]) == pytest.approx(mlcore.score_annual(typical).probability, rel=1e-5)
    assert out.loc[0, "symbol"] == "ACME" and out.loc[0, "error"] == ""
    assert out.loc[1, "probability"] == ""
    assert "total_assets: Must be greater than 0." in out.loc[1, "error"]
    assert "revenue: Must be a number." in out.loc[1, "error"]
    assert out.loc[2, "risk_level"] in mlcore.RISK_LEVELS


def test_quarterly_file_uses_ttm_when_three_previous_quarters_are_present(tmp_path, typical):
    quarters = [
        {
            "symbol": "ACME",
            "reporting_year": 2024,
            "reporting_quarter": f"Q{q}",
            **{k: (v / 4 if k in ("revenue", "ebit", "net_income") else v) for k, v in typical.items()},
        }
        for q in (1, 2, 3, 4)
    ]
    source = _write(tmp_path / "q.csv", quarters[::-1])
    predict_csv(source, tmp_path / "out.csv", "quarterly", chunk_rows=3, progress=False)
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out["annualization"].tolist() == ["ttm", "x4", "x4", "x4"]


def test_bad_header_is_refused(tmp_path, typical):
    source = _write(tmp_path / "in.csv", [{k: v for k, v in typical.items() if k != "ebit"}])
    with pytest.raises(FinancialsValidationError):
        predict_csv(source, tmp_path / "out.csv", "annual", progress=False)


def test_evaluate_labelled_file(tmp_path, real_rows):
    source = tmp_path / "labelled.csv"
    real_rows.to_csv(source, index=False)
    metrics = evaluate_csv(source, "annual")
    assert metrics["rows"] + metrics["skipped_rows"] == len(real_rows)  # a few real rows have negative balances
    assert metrics["roc_auc"] > metrics["altman_z_roc_auc"]
    assert len(metrics["reliability_by_decile"]) == 10
