"""Benchmark: arrival-to-score latency at a steady rate, and draining a backlog at -p 1 and -p 2.

    python -m bench.stream_latency [--rate 1000] [--seconds 30] [--backlog 200000]

Real pieces only, default settings (no benchmark profile): the embedded broker, the
streaming job (unbounded, as in production, with scoring, the Feast online
write-behind and the Kafka sink), the live producer.

- latency: each transaction's Kafka timestamp (when the producer sent it) to its
  score's Kafka timestamp (when the job's sink sent it), for every transaction sent at
  `--rate` after the job has warmed up (`--warm-up` s at that rate), the last ones included: traffic then stops, and
  the silence rule must release them. Labels flow alongside (each transaction's 1 s
  later on average). Freshness is `online_at - event_time` from the served-features log.
- drain: `--backlog` transactions and their labels already on the topics before the job
  starts; tx/s from the first score to the last, at each parallelism, and how long
  after the last score the online store had caught up. Beside each, the cores busy over
  that span, the machine's and each process's (`bench.cpu`), and the machine's CPU per
  1,000 transactions: the cost per core, and whether the cores or something else set the pace.

The plain-Python consumer computing the same features is measured on the same backlog
by `bench.plain_consumer`; `make bench` prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from kafka import KafkaConsumer, TopicPartition
from tabulate import tabulate

from bench import plain_consumer
from bench.cpu import CpuSampler
from bench.producer_process import ProducerProcess
from bench.workspace import run_cli, trained_workspace
from jobs.stream import start_stream
from skewless.config import Settings
from skewless.featurestore.store import served_features_dir
from skewless.messaging.producer import LiveProducer, true_end_offsets
from skewless.messaging.topics import ensure_topics, read_records
from skewless.synthetic.history import PopulationSpec, live_batch, load_population

RESULTS = Path(__file__).parent / "results"


def _ends(settings: Settings, topic: str) -> dict[int, int]:
    return true_end_offsets(settings, topic, settings.topics.partitions)


def _warm_up(settings: Settings, producer: ProducerProcess, spec: PopulationSpec, rate: float, seconds: float,
             timeout_s: float = 180.0) -> float:
    """Trickle transactions until the job scores one (start-up: JVM, Python workers, Feast), then `seconds` at `rate`.

    The JVM compiles the job's hot paths for the first tens of seconds under load (its
    compiler took half a core for more than 40 s at 1,000 tx/s): latency is measured
    once the job runs as it will for days, not while it is being compiled.
    """
    started, scores_from = time.monotonic(), _ends(settings, settings.topics.scores)
    while sum(_ends(settings, settings.topics.scores).values()) == sum(scores_from.values()):
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"no score within {timeout_s:.0f}s of starting the job")
        transactions, labels = live_batch(spec, 20, 20.0, seed=int(time.time()))
        producer.run(transactions, labels, label_delay_s=0.5)
    first_score_s = time.monotonic() - started
    transactions, labels = live_batch(spec, int(rate * seconds), rate, seed=1)
    producer.run(transactions, labels, label_delay_s=1.0)
    time.sleep(2)
    return first_score_s


def _late(settings: Settings, late_from: dict[int, int], tx_ids: set[str]) -> int:
    """Transactions of this run set aside as late (more out of order than the allowed lateness)."""
    late = read_records(settings, settings.topics.late_transactions, from_offsets=late_from, idle_timeout_s=3)
    return sum(1 for r in late if r.value["tx_id"] in tx_ids)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)} | {"max": float(values.max())}


def _freshness(settings: Settings, tx_ids: set[str]) -> dict[str, float]:
    """`online_at - event_time` of these transactions, from the served-features log (ms)."""
    served = pd.read_parquet(served_features_dir(settings), columns=["tx_id", "event_time", "online_at"])
    served = served[served["tx_id"].isin(tx_ids)]
    return _percentiles((served["online_at"] - served["event_time"].astype("int64")).to_numpy()) | {"rows": len(served)}


def _latency(settings: Settings, producer: ProducerProcess, spec: PopulationSpec, rate: float, seconds: float,
             cpu: CpuSampler) -> dict:
    """`seconds` of transactions at `rate`, then silence: every one of them measured."""
    topics = settings.topics
    tx_from, scores_from = _ends(settings, topics.transactions), _ends(settings, topics.scores)
    late_from = _ends(settings, topics.late_transactions)
    transactions, labels = live_batch(spec, int(rate * seconds), rate, seed=2)
    measured = set(transactions["tx_id"])
    producer.run(transactions, labels, label_delay_s=1.0)
    arrived = {r.value["tx_id"]: r.timestamp_ms for r in read_records(settings, topics.transactions, from_offsets=tx_from,
                                                                       expect=len(transactions))}
    scores = [r for r in read_records(settings, topics.scores, from_offsets=scores_from, idle_timeout_s=10)
              if r.value["tx_id"] in measured]
    to_score = np.array([r.timestamp_ms - arrived[r.value["tx_id"]] for r in scores])
    to_python = np.array([r.value["scored_at"] - arrived[r.value["tx_id"]] for r in scores])
    last_second = max(arrived.values()) - 1000
    quiet_tail = np.array([r.timestamp_ms - arrived[r.value["tx_id"]] for r in scores if arrived[r.value["tx_id"]] > last_second])
    time.sleep(6)  # the served-features log flushes every 5 s
    sent = list(arrived.values())
    return {
        "rate asked": rate, "transactions": len(measured),
        "rate sent": round(len(sent) / ((max(sent) - min(sent)) / 1000), 1),
        "scored": len(scores), "distinct scored": len({r.value["tx_id"] for r in scores}),
        "late": _late(settings, late_from, measured),
        "arrival-to-score ms": _percentiles(to_score),
        "of which arrival to the scoring step ms": _percentiles(to_python),
        "last second before silence, arrival-to-score ms": _percentiles(quiet_tail),
        "freshness ms": _freshness(settings, measured),
        "cores busy while sending": cpu.span(min(sent) / 1000, max(sent) / 1000),
    }


def _backlog(settings: Settings, spec: PopulationSpec, count: int, seed: int) -> tuple[dict, set[str], float]:
    """`count` transactions and their labels on the topics, sent before any job reads them."""
    topics = settings.topics
    start = {t: _ends(settings, t) for t in (topics.transactions, topics.labels)}
    transactions, labels = live_batch(spec, count, rate=count / 60.0, seed=seed)
    labels = labels.assign(label_time=transactions["event_time"].to_numpy() + 500)
    producer = LiveProducer(settings)
    try:
        sent = producer.replay(transactions.assign(arrival=transactions["event_time"]), labels.assign(arrival=labels["label_time"]))
    finally:
        producer.close()
    return start, set(transactions["tx_id"]), sent.transactions / sent.seconds


def _wait_for(settings: Settings, topic: str, from_offsets: dict[int, int], count: int, timeout_s: float = 900) -> None:
    """Until about `count` records are on `topic`, by asking offsets: reading them now would take a core from the job.

    The embedded broker reports ends up to a batch short, so "about" is: no progress for 10 s, or all `count`.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    partitions = [TopicPartition(topic, p) for p in from_offsets]
    deadline, last, still_since = time.monotonic() + timeout_s, -1, time.monotonic()
    try:
        while time.monotonic() < deadline:
            written = sum(end - from_offsets[tp.partition] for tp, end in consumer.end_offsets(partitions).items())
            if written >= count or (written > 0 and written == last and time.monotonic() - still_since > 10):
                return
            if written != last:
                last, still_since = written, time.monotonic()
            time.sleep(0.5)
    finally:
        consumer.close()


def _cpu(cpu: CpuSampler, start: float, end: float, transactions: int) -> dict:
    """Cores busy from a drain's first score to its last, and the machine's CPU per 1,000 transactions."""
    cores = cpu.span(start, end)
    return {"cores busy": cores, "machine CPU s per 1,000 tx": round(cores["machine"] * (end - start) / transactions * 1000, 3)}


def _drain(settings: Settings, spec: PopulationSpec, count: int, parallelism: int, seed: int, cpu: CpuSampler) -> dict:
    """Start a job on a backlog of `count` transactions; scores/s from its first score to its last."""
    topics = settings.topics
    start, wanted, producer_rate = _backlog(settings, spec, count, seed)
    scores_from, late_from = _ends(settings, topics.scores), _ends(settings, topics.late_transactions)
    at_p = settings.model_copy(update={"flink": settings.flink.model_copy(update={"parallelism": parallelism})})
    submitted = time.time()
    job = start_stream(at_p, start_offsets=start)
    try:
        _wait_for(settings, topics.scores, scores_from, count)
        scores = pd.DataFrame([{"tx_id": r.value["tx_id"], "at": r.timestamp_ms}
                               for r in read_records(settings, topics.scores, from_offsets=scores_from, expect=count,
                                                     idle_timeout_s=60, deadline_s=900) if r.value["tx_id"] in wanted])
        time.sleep(6)  # the served-features log flushes every 5 s
        served = pd.read_parquet(served_features_dir(settings), columns=["tx_id", "online_at"])
        online_at = served.loc[served["tx_id"].isin(wanted), "online_at"]
    finally:
        job.get_job_client().cancel().result()
    span_s = (scores["at"].max() - scores["at"].min()) / 1000
    return {"parallelism": parallelism, "backlog": count, "producer tx/s": round(producer_rate),
            "scored": len(scores), "distinct scored": int(scores["tx_id"].nunique()),
            "late": _late(settings, late_from, wanted),
            "first score after submit s": round(scores["at"].min() / 1000 - submitted, 1),
            "tx/s (first to last score)": round(len(scores) / span_s),
            "online rows": int(online_at.size),
            "online caught up after last score ms": int(online_at.max() - scores["at"].max()),
            **_cpu(cpu, scores["at"].min() / 1000, scores["at"].max() / 1000, len(scores))}


def _plain_drain(settings: Settings, spec: PopulationSpec, count: int, seed: int, cpu: CpuSampler) -> dict:
    """The same backlog through the plain-Python consumer (`bench.plain_consumer`)."""
    start, _, producer_rate = _backlog(settings, spec, count, seed)
    result = plain_consumer.drain(settings, start, count)
    return {"parallelism": "plain Python", "backlog": count, "producer tx/s": round(producer_rate), "scored": result["scored"],
            "tx/s (first to last score)": result["tx/s"], **_cpu(cpu, *result["span"], result["scored"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warm-up", type=float, default=60.0, help="Seconds at --rate before measuring.")
    parser.add_argument("--backlog", type=int, default=200_000, help="Transactions per drain (0: no drains).")
    parser.add_argument("--workdir", type=Path, default=Path("data/bench-latency"))
    parser.add_argument("--reuse", action="store_true", help="Keep the workspace's generated data and model.")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = trained_workspace(args.workdir, reuse=args.reuse)
    spec = load_population(settings)
    ensure_topics(settings)
    start = {t: _ends(settings, t) for t in (settings.topics.transactions, settings.topics.labels)}
    job = start_stream(settings, start_offsets=start)
    producer = ProducerProcess(settings)
    try:
        first_score_s = _warm_up(settings, producer, spec, args.rate, args.warm_up)
        with CpuSampler() as cpu:
            latency = _latency(settings, producer, spec, args.rate, args.seconds, cpu)
    finally:
        producer.close()
        job.get_job_client().cancel().result()
    drains = []
    if args.backlog:
        with CpuSampler() as cpu:
            drains = [_plain_drain(settings, spec, args.backlog, seed=10, cpu=cpu)]
            drains += [_drain(settings, spec, args.backlog, p, seed=10 + p, cpu=cpu) for p in (1, 2)]
        plain = drains[0]["tx/s (first to last score)"]
        for drain in drains[1:]:
            drain["x plain Python"] = round(drain["tx/s (first to last score)"] / plain, 2)
    summary = {"features": settings.features.model_dump(), "flink": settings.flink.model_dump(mode="json"),
               "fetch_max_wait_ms": settings.kafka.fetch_max_wait_ms, "first score after submit s": round(first_score_s, 1),
               "warm-up s at rate": args.warm_up,
               "latency": latency, "drains": drains}
    out = RESULTS / f"stream_latency_{int(args.rate)}.json"
    out.write_text(json.dumps(summary, indent=2, default=str))
    rows = ("arrival-to-score ms", "of which arrival to the scoring step ms", "last second before silence, arrival-to-score ms",
            "freshness ms")
    print(tabulate([{"": k, **latency[k]} for k in rows], headers="keys", floatfmt=".0f"))
    print(f"\n{latency['distinct scored']} of {latency['transactions']} scored ({latency['late']} late) "
          f"at {latency['rate sent']} tx/s sent; cores busy meanwhile: {latency['cores busy while sending']}")
    if drains:
        print(tabulate([{k: v for k, v in d.items() if k != "cores busy"} for d in drains], headers="keys", floatfmt=".1f"))
        print(f"\ncores busy from first to last score (of the machine's {os.cpu_count()}):")
        print(tabulate([{"drain": d["parallelism"], **d["cores busy"]} for d in drains], headers="keys", floatfmt=".2f"))
    print(f"-> {out}")
    run_cli("down")


if __name__ == "__main__":
    main()
