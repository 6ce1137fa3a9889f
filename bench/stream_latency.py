"""Benchmark: arrival-to-score latency at a steady rate, and scoring throughput at saturation with and without an update in flight.

    python -m bench.stream_latency [--rate 1000] [--seconds 30] [--burst 30000]

Real pieces only: the embedded broker, the streaming job (unbounded, as in
production), the live producer, `skewless learn`'s loop.

- latency: each transaction's Kafka timestamp (when the producer sent it) to its
  score's Kafka timestamp (when the job's sink sent it), for transactions sent at
  `--rate` after the job has warmed up; labels flow alongside (each transaction's, 1 s
  later on average), as they would in production.
- saturation: `--burst` transactions sent as fast as one producer can (several times
  what the job drains, so the job is the bottleneck), scores/s from the first score of
  the burst to the last. Twice: once quiet, once with the learner warm-starting,
  registering and broadcasting a new model half-way through the burst.

The baseline for throughput is the same job without an update in flight; there is no
plain-tools baseline for latency here, because the plain alternative (a consumer
computing the 20 windowed features itself) is the second pipeline skewless exists to
remove; the goal (p99 < 100 ms at 1,000 tx/s) is the yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.workspace import run_cli, trained_workspace
from jobs.stream import start_stream
from models.online import UpdatePolicy
from skewless.config import Settings
from skewless.history import PopulationSpec, live_batch, load_population
from skewless.learner import Learner
from skewless.producer import LiveProducer, true_end_offsets
from skewless.topics import ensure_topics, read_records

RESULTS = Path(__file__).parent / "results"
LATENCY_PROFILE = {
    "SKEWLESS_FEATURES__ALLOWED_LATENESS_MS": "20",
    "SKEWLESS_FEATURES__LABELS_IDLE_TIMEOUT_S": "1",
}
"""Events more than 20 ms out of order are set aside as late: the producer sends in order."""


def _ends(settings: Settings, topic: str) -> dict[int, int]:
    return true_end_offsets(settings, topic, settings.topics.partitions)


def _warm_up(settings: Settings, producer: LiveProducer, spec: PopulationSpec, timeout_s: float = 180.0) -> float:
    """Trickle transactions until the job scores one (start-up: JVM, Python workers, Feast), then 5 s more."""
    started, scores_from = time.monotonic(), _ends(settings, settings.topics.scores)
    while sum(_ends(settings, settings.topics.scores).values()) == sum(scores_from.values()):
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"no score within {timeout_s:.0f}s of starting the job")
        transactions, labels = live_batch(spec, 20, 20.0, seed=int(time.time()))
        producer.run(transactions, labels, label_delay_s=0.5)
    first_score_s = time.monotonic() - started
    transactions, labels = live_batch(spec, 500, 100.0, seed=1)
    producer.run(transactions, labels, label_delay_s=0.5)
    time.sleep(2)
    return first_score_s


def _late(settings: Settings, late_from: dict[int, int], tx_ids: set[str]) -> int:
    """Transactions of this run set aside as late (more out of order than the allowed lateness)."""
    late = read_records(settings, settings.topics.late_transactions, from_offsets=late_from, idle_timeout_s=3)
    return sum(1 for r in late if r.value["tx_id"] in tx_ids)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)} | {"max": float(values.max())}


def _latency(settings: Settings, producer: LiveProducer, spec: PopulationSpec, rate: float, seconds: float) -> dict:
    """`seconds` of transactions at `rate`, measured, then one more second, not measured.

    Event time moves only with events: the last transactions of a stream that stops
    would wait for the next one. The unmeasured second keeps the stream flowing past
    the measured ones, as production traffic does.
    """
    topics = settings.topics
    tx_from, scores_from = _ends(settings, topics.transactions), _ends(settings, topics.scores)
    late_from = _ends(settings, topics.late_transactions)
    transactions, labels = live_batch(spec, int(rate * (seconds + 1)), rate, seed=2)
    measured = set(transactions["tx_id"].iloc[: int(rate * seconds)])
    producer.run(transactions, labels, label_delay_s=1.0)
    arrived = {r.value["tx_id"]: r.timestamp_ms for r in read_records(settings, topics.transactions, from_offsets=tx_from,
                                                                       expect=len(transactions))}
    # Until idle, not a count: scores of the warm-up's last transactions may come first.
    scores = [r for r in read_records(settings, topics.scores, from_offsets=scores_from, idle_timeout_s=10)
              if r.value["tx_id"] in measured]
    to_score = np.array([r.timestamp_ms - arrived[r.value["tx_id"]] for r in scores])
    event_to_score = np.array([r.value["scored_at"] - r.value["event_time"] for r in scores])
    sent = [arrived[t] for t in measured]
    return {
        "rate asked": rate, "transactions": len(measured),
        "rate sent": round(len(sent) / ((max(sent) - min(sent)) / 1000), 1),
        "scored": len(scores), "distinct scored": len({r.value["tx_id"] for r in scores}),
        "late": _late(settings, late_from, measured),
        "arrival-to-score ms": _percentiles(to_score), "event-to-score ms": _percentiles(event_to_score),
    }


def _burst(settings: Settings, producer: LiveProducer, spec: PopulationSpec, count: int, seed: int,
           learner: Learner | None) -> dict:
    """`count` transactions (and their labels, 0.5 s of event time later) as fast as they can be sent."""
    topics = settings.topics
    scores_from, late_from = _ends(settings, topics.scores), _ends(settings, topics.late_transactions)
    transactions, labels = live_batch(spec, count, rate=count / 10.0, seed=seed)
    labels = labels.assign(label_time=transactions["event_time"].to_numpy() + 500)
    sent = producer.replay(transactions.assign(arrival=transactions["event_time"]), labels.assign(arrival=labels["label_time"]))
    # The last second waits for later events (event time moves with events); the next phase pushes it through.
    wanted = set(transactions.loc[transactions["event_time"] < transactions["event_time"].max() - 1000, "tx_id"])
    scores = pd.DataFrame([{"tx_id": r.value["tx_id"], "version": r.value["model_version"], "at": r.timestamp_ms}
                           for r in read_records(settings, topics.scores, from_offsets=scores_from,
                                                 idle_timeout_s=20, deadline_s=600) if r.value["tx_id"] in wanted])
    span_s = (scores["at"].max() - scores["at"].min()) / 1000
    result = {"transactions": len(transactions), "measured (all but the last second)": len(wanted),
              "producer tx/s": round(sent.transactions / sent.seconds),
              "scored": len(scores), "distinct scored": int(scores["tx_id"].nunique()),
              "late": _late(settings, late_from, set(transactions["tx_id"])),
              "scores/s (first to last)": round(len(scores) / span_s), "versions": scores["version"].value_counts().to_dict()}
    if learner is not None:
        promoted = [d for d in learner.report.decisions if d.get("promoted")]
        if promoted:
            at = promoted[0]["published_at_ms"]
            before = scores[(scores["at"] >= at - 5000) & (scores["at"] < at)]
            after = scores[(scores["at"] >= at) & (scores["at"] < at + 5000)]
            result |= {"update": promoted[0]["promoted"], "scores/s 5 s before publish": len(before) / 5,
                       "scores/s 5 s after publish": len(after) / 5,
                       "train+register+publish s": (at - promoted[0]["last_label_at_ms"]) / 1000}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=30_000, help="Transactions per saturation burst (0: no bursts).")
    parser.add_argument("--workdir", type=Path, default=Path("data/bench-latency"))
    parser.add_argument("--reuse", action="store_true", help="Keep the workspace's generated data and model.")
    args = parser.parse_args()
    for name, value in LATENCY_PROFILE.items():
        os.environ.setdefault(name, value)  # the shell's SKEWLESS_* settings win
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = trained_workspace(args.workdir, reuse=args.reuse)
    spec = load_population(settings)
    ensure_topics(settings)
    start = {t: _ends(settings, t) for t in (settings.topics.transactions, settings.topics.labels)}
    job = start_stream(settings, start_offsets=start)
    producer = LiveProducer(settings)
    try:
        first_score_s = _warm_up(settings, producer, spec)
        latency = _latency(settings, producer, spec, args.rate, args.seconds)
        quiet = updating = None
        if args.burst:
            quiet = _burst(settings, producer, spec, args.burst, seed=5, learner=None)
            learner = Learner(settings, UpdatePolicy(threshold=settings.scoring.threshold, tolerance=1.0),
                              every_labels=args.burst // 2, every_s=1e9)
            thread = threading.Thread(target=learner.run, name="learner", daemon=True)
            thread.start()
            time.sleep(2)
            updating = _burst(settings, producer, spec, args.burst, seed=6, learner=learner)
            learner.stop()
            thread.join()
    finally:
        producer.close()
        job.get_job_client().cancel().result()
    summary = {"features": settings.features.model_dump(), "flink": settings.flink.model_dump(mode="json"),
               "fetch_max_wait_ms": settings.kafka.fetch_max_wait_ms, "first score after submit s": round(first_score_s, 1),
               "latency": latency, "saturation quiet": quiet, "saturation with update": updating}
    if quiet and updating:
        summary["throughput ratio with/without update"] = round(
            updating["scores/s (first to last)"] / quiet["scores/s (first to last)"], 2)
    out = RESULTS / f"stream_latency_{int(args.rate)}.json"
    out.write_text(json.dumps(summary, indent=2, default=str))
    print(tabulate([{"": k, **latency[k]} for k in ("arrival-to-score ms", "event-to-score ms")], headers="keys", floatfmt=".0f"))
    print(f"\n{latency['distinct scored']} of {latency['transactions']} scored ({latency['late']} late) "
          f"at {latency['rate sent']} tx/s sent")
    if quiet and updating:
        print(tabulate([{"run": "quiet", **{k: v for k, v in quiet.items() if k != "versions"}},
                        {"run": "update in flight", **{k: v for k, v in updating.items() if k != "versions"}}],
                       headers="keys", floatfmt=".1f"))
        print(f"\nthroughput with/without an update in flight: {summary['throughput ratio with/without update']}")
    print(f"-> {out}")
    run_cli("down")


if __name__ == "__main__":
    main()
