"""Benchmark: label-to-live time, and scoring with and without an update in flight.

    python -m bench.label_to_live [--rate 200] [--seconds 60] [--every-labels 3000]

Real pieces only: the embedded broker, the streaming job (a finite run), the learner
loop of `skewless learn` in a thread, and the model-updates broadcast.
- label-to-live: from the moment the learner read the last label of a round to the
  first score by the version that round produced (training, registry, broadcast, the
  operator's swap, the next bundle);
- scores/s and event-to-score latency in the 5 s before a promotion and the 5 s after.

The gate's tolerance is opened (1.0) so every round promotes: this measures the
pipeline, not the gate. A fifth of the labels say fraud, so each round has
something to learn.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.workspace import run_cli, trained_workspace
from jobs.drivers.finite_run import run_finite_stream
from models.learner import Learner
from models.online import UpdatePolicy
from skewless.messaging.topics import read_json
from skewless.synthetic.history import live_batch, load_population

RESULTS = Path(__file__).parent / "results"


def _window(scores: pd.DataFrame, start_ms: int, end_ms: int) -> dict[str, float]:
    inside = scores[(scores["scored_at"] >= start_ms) & (scores["scored_at"] < end_ms)]
    latency = inside["scored_at"] - inside["event_time"]
    return {"scores/s": len(inside) / ((end_ms - start_ms) / 1000),
            "latency p50 ms": float(np.percentile(latency, 50)) if len(inside) else float("nan"),
            "latency p99 ms": float(np.percentile(latency, 99)) if len(inside) else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--every-labels", type=int, default=3000)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench-l2l"),
                        help="A project-like folder (a copy of feature_repo/ beside data/), kept apart from data/.")
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = trained_workspace(args.workdir)

    transactions, labels = live_batch(load_population(settings), int(args.rate * args.seconds), args.rate, seed=3)
    labels = labels.assign(is_fraud=(np.random.default_rng(4).random(len(labels)) < 0.2).astype(int))
    learner = Learner(settings, UpdatePolicy(threshold=settings.scoring.threshold, tolerance=1.0),
                      every_labels=args.every_labels, every_s=1e9)
    thread = threading.Thread(target=learner.run, name="learner", daemon=True)
    thread.start()
    run = run_finite_stream(settings, transactions, labels,
                            send=lambda producer: producer.run(transactions, labels, label_delay_s=0.5))
    learner.stop()
    thread.join()
    scores = pd.DataFrame(read_json(settings, settings.topics.scores, from_offsets=run.outputs_from[settings.topics.scores],
                                    expect=len(transactions), idle_timeout_s=20))

    rows = []
    for decision in (d for d in learner.report.decisions if d.get("promoted")):
        version, published = decision["promoted"], decision["published_at_ms"]
        first = scores.loc[scores["model_version"] == version, "scored_at"].min()
        rows.append({
            "version": version, "rows": decision["rows"],
            "label-to-live s": (first - decision["last_label_at_ms"]) / 1000,
            "of which train+register+publish s": (published - decision["last_label_at_ms"]) / 1000,
            **{f"before: {k}": v for k, v in _window(scores, published - 5000, published).items()},
            **{f"after: {k}": v for k, v in _window(scores, published, published + 5000).items()},
        })
    summary = {"rate": args.rate, "seconds": args.seconds, "transactions": len(transactions), "scored": len(scores),
               "distinct scored": int(scores["tx_id"].nunique()), "updates": rows,
               "decisions": learner.report.decisions}
    (RESULTS / f"label_to_live_{int(args.rate)}.json").write_text(json.dumps(summary, indent=2, default=str))
    print(tabulate(rows, headers="keys", floatfmt=".2f"))
    print(f"\n{summary['distinct scored']} of {len(transactions)} transactions scored at {args.rate:.0f} tx/s; "
          f"{len(rows)} update(s) promoted")
    run_cli("down")


if __name__ == "__main__":
    main()
