"""Benchmark: backfill transactions/s, Flink job vs the pandas baseline, same data, same run.

    python -m bench.backfill_vs_pandas --rows 1000000 [--breakdown]

Both start from the same parquet files (transactions and their labels) and end
with every feature in memory. The
Flink side is split into where its time goes: normalising + staging, table
environment start-up, and the job itself (windows, Python UDF, collection).
`--breakdown` runs the job again with growing subsets of the features (event-time
stage only, + previous transaction, + card windows, + merchant windows and label
rate): the differences say which stage costs what.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tabulate import tabulate

from bench import pandas_features
from jobs.backfill import compute_features, stage_history
from skewless.config import load_settings
from skewless.generator import DAY_MS, Population, simulate
from skewless.schema import normalise_labels, normalise_transactions, read_table
from udfs.features import CARD, FEATURES, Calendar, LabelRate, PrevTx

RESULTS = Path(__file__).parent / "results"


def _timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


STAGES = (
    ("event time only (late split + sort)", lambda f: isinstance(f, Calendar)),
    ("+ previous transaction (haversine UDF)", lambda f: isinstance(f, Calendar | PrevTx)),
    ("+ card windows", lambda f: f.entity == CARD and not isinstance(f, LabelRate)),
    ("+ merchant windows and label rate (all)", lambda f: True),
)


def _breakdown(settings, staged) -> list[dict]:
    rows, previous = [], 0.0
    for name, keep in STAGES:
        features = tuple(f for f in FEATURES if keep(f))
        _, seconds = _timed(lambda: compute_features(settings, staged, features))  # noqa: B023 (called at once)
        rows.append({"job with": name, "features": len(features), "seconds": seconds, "stage adds (s)": seconds - previous})
        previous = seconds
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench"))
    parser.add_argument("--breakdown", action="store_true", help="Time each stage of the Flink job.")
    args = parser.parse_args()

    settings = load_settings(overrides={"data_dir": args.data_dir})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    history, labels_file = settings.data_dir / "bench_history.parquet", settings.data_dir / "bench_labels.parquet"
    start = 1_767_225_600_000
    pop = Population.build(7, max(100, args.rows // 100), max(50, args.rows // 500))
    tx, labels = simulate(pop, 7, start, start + args.days * DAY_MS, args.rows)
    tx.to_parquet(history)
    labels.to_parquet(labels_file)

    staged, stage_s = _timed(stage_history, settings, history, labels_file)
    flink, flink_s = _timed(lambda: compute_features(settings, staged).features)

    def normalise():
        rows = normalise_transactions(read_table(history), history).rows
        return rows, normalise_labels(read_table(labels_file), labels_file, rows)

    (normalised, normalised_labels), normalise_s = _timed(normalise)
    reference, pandas_s = _timed(pandas_features.compute, normalised, normalised_labels)
    assert len(flink) == len(reference) == len(tx)

    flink_total, pandas_total = stage_s + flink_s, normalise_s + pandas_s
    rows = [
        {"pipeline": "flink backfill", "seconds": flink_total, "tx/s": len(tx) / flink_total,
         "where the time goes": f"normalise+stage {stage_s:.1f}s, job (incl. ~5-10s start-up) {flink_s:.1f}s"},
        {"pipeline": "pandas baseline", "seconds": pandas_total, "tx/s": len(tx) / pandas_total,
         "where the time goes": f"normalise {normalise_s:.1f}s, features {pandas_s:.1f}s"},
    ]
    summary = {"rows": len(tx), "cards": len(pop.cards), "days": args.days, "results": rows,
               "flink_over_pandas_speed": pandas_total / flink_total}
    if args.breakdown:
        summary["breakdown"] = _breakdown(settings, staged)
        print(tabulate(summary["breakdown"], headers="keys", floatfmt=".1f"), end="\n\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"backfill_vs_pandas_{args.rows}.json").write_text(json.dumps(summary, indent=2))
    print(tabulate(rows, headers="keys", floatfmt=".1f"))
    print(f"\nflink speed / pandas speed = {summary['flink_over_pandas_speed']:.2f}  ({len(tx)} transactions)")


if __name__ == "__main__":
    main()
