"""Benchmark: backfill transactions/s, skewless vs the pandas baseline, same data, same run.

    python -m bench.backfill_vs_pandas --rows 1000000

Both sides start from the same parquet files (transactions and their labels) and end
with every feature written to parquet:
- skewless: `skewless backfill` as a user runs it, in a fresh process each time
  (Python imports, read, validate and stage, JVM start-up, the feature engine, Feast's
  offline parquet written), at parallelism 1 and 2;
- pandas: read, validate, the same features (`bench/pandas_features.py`), parquet written.

Beside the end-to-end figures: the Flink job alone (`compute_features` on the staged
files), and the job with three more windows declared, to show what a window costs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench import pandas_features
from bench.workspace import SKEWLESS
from jobs.backfill import compute_features, stage_history
from skewless.config import Settings, load_settings
from skewless.featurestore.store import with_event_timestamp
from skewless.schema import normalise_labels, normalise_transactions, read_table
from skewless.synthetic.generator import Population, simulate
from udfs.features import CARD, FEATURES, MERCHANT, LabelRate, WindowAgg
from udfs.units import DAY_MS, DAY_S
from udfs.validation import LABEL_RECORD

RESULTS = Path(__file__).parent / "results"
MORE_WINDOWS = (
    WindowAgg(CARD, "amount", "count", 3 * DAY_S), WindowAgg(CARD, "amount", "mean", 3 * DAY_S), LabelRate(MERCHANT, DAY_S),
)
"""Three more windows, as a user would add them: card 3-day count and mean, merchant 1-day fraud rate."""
REPEATS = 2


def _timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def _pandas(history: Path, labels: Path, out: Path) -> int:
    rows = normalise_transactions(read_table(history), history).rows
    features = pandas_features.compute(rows, normalise_labels(read_table(labels, kind=LABEL_RECORD), labels, rows).rows)
    with_event_timestamp(features).to_parquet(out, index=False)
    return len(features)


def _cli_backfill(settings: Settings, parallelism: int, history: Path, labels: Path, rows: int) -> float:
    """`skewless backfill` in a fresh process (it pays its own imports and JVM start), timed from outside."""
    command = [SKEWLESS, "--data-dir", str(settings.data_dir), "--output", "json",
               "-p", str(parallelism), "backfill", str(history), "--labels", str(labels)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    written = json.loads(done.stdout)["feature rows"]
    assert written == rows, f"backfill wrote {written} of {rows} rows"
    return seconds


def _at(settings: Settings, parallelism: int) -> Settings:
    return settings.model_copy(update={"flink": settings.flink.model_copy(update={"parallelism": parallelism})})


def _row(name: str, rows: int, seconds: float, baseline_s: float, note: str) -> dict:
    return {"pipeline": name, "seconds": seconds, "tx/s": rows / seconds, "x pandas": baseline_s / seconds, "note": note}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench"))
    args = parser.parse_args()

    settings = load_settings(overrides={"data_dir": args.data_dir})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    history, labels_file = settings.data_dir / "bench_history.parquet", settings.data_dir / "bench_labels.parquet"
    start = 1_767_225_600_000
    pop = Population.build(7, max(100, args.rows // 100), max(50, args.rows // 500))
    tx, labels = simulate(pop, 7, start, start + args.days * DAY_MS, args.rows)
    tx.to_parquet(history)
    labels.to_parquet(labels_file)
    n = len(tx)

    pandas_rows, pandas_s = _timed(_pandas, history, labels_file, settings.data_dir / "pandas_features.parquet")
    assert pandas_rows == n
    results = [_row("pandas baseline", n, pandas_s, pandas_s, "read, validate, features, parquet")]
    job_s = {}
    for p in (1, 2):
        total_s = _cli_backfill(settings, p, history, labels_file, n)
        results.append(_row(f"skewless backfill -p {p}", n, total_s, pandas_s, "fresh process: stage, JVM, engine, Feast parquet"))
    staged = stage_history(settings, history, labels_file)
    compute_features(_at(settings, 2), staged)  # warm-up: class loading and JIT, paid once per process
    jobs = ((1, FEATURES, "job only -p 1"), (2, FEATURES, "job only -p 2"), (2, FEATURES + MORE_WINDOWS, "job only -p 2, +3 windows"))
    for p, features, name in jobs:
        job_s[name] = min(_timed(lambda p=p, f=features: compute_features(_at(settings, p), staged, f))[1] for _ in range(REPEATS))
        results.append(_row(name, n, job_s[name], pandas_s, f"warm JVM, best of {REPEATS}; staged events in, features read back"))
    more_s, base_s = job_s["job only -p 2, +3 windows"], job_s["job only -p 2"]

    summary = {
        "rows": n, "cards": len(pop.cards), "merchants": len(pop.merchants), "days": args.days,
        "labels": len(labels), "features": len(FEATURES), "results": results,
        "three_more_windows_cost": 1 - base_s / more_s,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"backfill_vs_pandas_{args.rows}.json").write_text(json.dumps(summary, indent=2))
    print(tabulate(results, headers="keys", floatfmt=".2f"))
    print(f"\n{n} transactions; three more windows cost {summary['three_more_windows_cost']:.1%} of job throughput")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
