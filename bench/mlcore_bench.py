"""Benchmark of mlcore inference on one core: single company with drivers, and batch derive + ensemble.

Run: ``.venv/bin/python bench/mlcore_bench.py`` (from the repository root). Writes ``bench/mlcore_results.md``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mlcore  # noqa: E402
from mlcore.artefacts import get_ensemble  # noqa: E402
from mlcore.ensemble import LightGBMMember  # noqa: E402
from mlcore.training import DEFAULT_DATA_PATH  # noqa: E402

SINGLE_CALLS = 3000
BATCH_ROWS = 100_000
CHUNK = 20_000


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bench_single(rows: pd.DataFrame, kind: str) -> dict[str, float]:
    statements = [{k: float(v) for k, v in r.items()} for r in rows[list(mlcore.FINANCIAL_FIELDS)].to_dict("records")]
    score = mlcore.score_annual if kind == "annual" else mlcore.score_quarterly
    for s in statements[:200]:
        score(s)  # warm-up (also loads the model)
    times, cpu = [], []
    for i in range(SINGLE_CALLS):
        s = statements[i % len(statements)]
        start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
        score(s)
        cpu.append((time.process_time_ns() - start_cpu) / 1000)
        times.append((time.perf_counter_ns() - start) / 1000)
    times.sort()
    # of which: the exact tree contributions (LightGBM pred_contrib, C) of the ensemble's tree members
    ensemble = get_ensemble(kind)
    x = mlcore.derive_ratios(rows.head(300)).to_numpy()
    shap = []
    for i in range(SINGLE_CALLS):
        row = x[i % len(x)]
        start = time.perf_counter_ns()
        for member, columns in zip(ensemble.members, ensemble._columns or [], strict=True):
            if isinstance(member, LightGBMMember):
                member.contributions(row[np.newaxis, columns])
        shap.append((time.perf_counter_ns() - start) / 1000)
    return {
        "median_us": statistics.median(times),
        "p99_us": times[int(0.99 * len(times)) - 1],
        "cpu_median_us": statistics.median(cpu),
        "shap_median_us": statistics.median(shap),
    }


def bench_batch(rows: pd.DataFrame, kind: str) -> dict[str, float]:
    frame = rows.sample(BATCH_ROWS, replace=True, random_state=0)[list(mlcore.FINANCIAL_FIELDS)].reset_index(drop=True)
    mlcore.score_frame(frame.head(1000), kind)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = mlcore.score_frame(frame, kind, chunk_size=CHUNK, num_threads=1)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    assert out["probability"].notna().all()
    return {"seconds": best, "rows_per_s": BATCH_ROWS / best, "cpu_rows_per_s": BATCH_ROWS / best_cpu}


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    data = pd.read_csv(DEFAULT_DATA_PATH)
    results = {}
    for kind in ("annual", "quarterly"):
        results[kind] = {"single": bench_single(data.head(2000), kind), "batch": bench_batch(data, kind)}
        print(kind, results[kind], flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# mlcore inference benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores (pinned to 1); 1-min load {load_start:.1f} at start, "
        f"{load:.1f} at end (a load above 1 per core means the wall-clock figures include waiting for the CPU; "
        "the CPU-time columns do not)",
        f"- python {platform.python_version()}, lightgbm {lgb.__version__}, numpy {np.__version__}, "
        f"pandas {pd.__version__}",
        f"- models: {mlcore.model_version('annual')}, {mlcore.model_version('quarterly')}",
        "- single: `score_annual` / `score_quarterly` on real rows, validation + features + ensemble + drivers "
        f"(pred_contrib), {SINGLE_CALLS} calls after warm-up",
        f"- batch: `score_frame` on {BATCH_ROWS:,} real rows (sampled), chunks of {CHUNK:,}, one LightGBM thread, "
        "best of 3; includes numeric coercion, feature derivation, members, calibration, bands; no drivers",
        "- single, of which tree SHAP: median of the LightGBM members' `pred_contrib` of one row alone (C code, "
        "the same call `score_*` makes); the rest is validation, features, logistic member, combination, drivers",
        "",
        "| kind | single median (µs) | single p99 (µs) | single CPU median (µs) | of which tree SHAP (µs) "
        "| batch rows/s | batch rows/CPU-s |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        single, batch = r["single"], r["batch"]
        lines.append(
            f"| {kind} | {single['median_us']:.0f} | {single['p99_us']:.0f} | {single['cpu_median_us']:.0f} "
            f"| {single['shap_median_us']:.0f} | {batch['rows_per_s']:,.0f} | {batch['cpu_rows_per_s']:,.0f} |"
        )
    lines += ["", "Goals (docs/ML.md): single median well under 1 ms; batch >= 50,000 rows/s on one core.", ""]
    out = ROOT / "bench" / "mlcore_results.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(out.read_text())


if __name__ == "__main__":
    main()
