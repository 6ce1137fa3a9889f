"""Live producer: transactions into `transactions`, their labels into `fraud-labels` later.

Each record's partition is chosen here with Kafka's own default partitioner (murmur2
of the key, as Java clients do), so a finite run knows, before sending, how many
records land in each partition and where a bounded reader must stop.
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from confluent_kafka import Producer
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.schema import LABEL_COLUMNS, TRANSACTION_COLUMNS
from udfs.units import MS_PER_S, now_ms


def partition_for(key: str, partitions: int) -> int:
    """Kafka's default partition for a key (the Java client's murmur2 rule)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def plan_partitions(keys: pd.Series, partitions: int) -> Counter[int]:
    """How many of these records each partition will receive."""
    return Counter(partition_for(k, partitions) for k in keys)


def true_end_offsets(settings: Settings, topic: str, partitions: int, timeout_s: float = 30.0) -> dict[int, int]:
    """Next offset to be written, per partition, found by reading rather than asking.

    The embedded broker answers ListOffsets(latest) with the last record batch's base
    offset + 1 (12 records in batches of 4 report 9). A reported R > 0 therefore
    guarantees a record at R - 1: read from there until it has been seen, then on to
    the end. A real Kafka reports the true end.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        reported = consumer.end_offsets(tps)
        ends = {tp.partition: reported[tp] for tp in tps}
        if not settings.kafka.embedded:
            return ends
        for tp in tps:
            consumer.seek(tp, max(reported[tp] - 1, 0))
        unseen = {tp.partition for tp in tps if reported[tp] > 0}
        deadline = time.monotonic() + timeout_s
        while True:
            batch = consumer.poll(timeout_ms=500)
            for tp, records in batch.items():
                ends[tp.partition] = max(ends[tp.partition], records[-1].offset + 1)
                unseen.discard(tp.partition)
            if not batch and not unseen:
                return ends
            if time.monotonic() > deadline:
                raise SkewlessError(f"could not read to the end of {topic} (partitions {sorted(unseen)}) in {timeout_s:.0f}s")
    finally:
        consumer.close()


class Sender:
    """confluent-kafka's producer with its delivery reports kept: a record the broker refuses fails the run, by name."""

    def __init__(self, settings: Settings, config: dict[str, Any]) -> None:
        """`config`: librdkafka's settings beside the servers (linger, acks, ...)."""
        self.servers = settings.kafka.bootstrap_servers
        self.client = Producer({"bootstrap.servers": self.servers, "enable.metrics.push": False, **config})
        self.failures: list[str] = []

    def send(self, topic: str, key: bytes, value: bytes, partition: int = -1) -> None:
        """Hand one record over (-1: the client's partitioner picks), waiting while the client's queue is full."""
        while True:
            try:
                self.client.produce(topic, value=value, key=key, partition=partition, on_delivery=self._delivered)
                break
            except BufferError:  # the client's queue is full: let it send first
                self.client.poll(0.05)
        self.client.poll(0)

    def _delivered(self, error, _message) -> None:
        if error is not None:
            self.failures.append(str(error))

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every record is acknowledged; raise if any was refused or is still unsent."""
        unsent = self.client.flush(timeout_s)
        if unsent or self.failures:
            raise SkewlessError(
                f"{unsent} records still unsent after {timeout_s:.0f}s and {len(self.failures)} refused by the broker at "
                f"{self.servers} (first: {self.failures[:1]}): is it running? `skewless status` tells"
            )

    def close(self) -> None:
        """Stop the client and its threads (left running, they reconnect and log for as long as the process lives).

        Records still unsent after 10 s are dropped: a run that needs every record calls `flush` first, which fails
        loudly; `close` also runs when a run has failed already.
        """
        self.client.flush(10)
        self.client.purge()
        self.client.close()


def _json_value(record: dict[str, Any]) -> bytes:
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
    return json.dumps(clean, separators=(",", ":")).encode()


def _shifted(record: dict[str, Any], time_field: str) -> Callable[[int], bytes]:
    """The record's JSON, encoded now, with its time field moved by the shift known only when sending starts."""
    head, _, tail = _json_value({**record, time_field: 0}).partition(f'"{time_field}":0'.encode())
    base = int(record[time_field])
    return lambda shift_ms: b"%s\"%s\":%d%s" % (head, time_field.encode(), base + shift_ms, tail)


class _Address(NamedTuple):
    topic: str
    key: bytes
    partition: int


@dataclass
class ProduceReport:
    transactions: int = 0
    labels: int = 0
    seconds: float = 0.0
    per_partition: Counter[int] = field(default_factory=Counter)


class LiveProducer:
    """Sends transactions at their event time, and each label after its delay.

    Through confluent-kafka (librdkafka): 2.5 µs of CPU per record sent, against 46 µs for
    kafka-python's producer (docs/stack.md). A load generator sharing two cores with the
    job it measures must cost the job as little as it can.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.partitions = settings.topics.partitions
        # One request in flight: a retried batch can then never land behind a later one, so each
        # partition holds its card's events in the order they were sent.
        self.producer = Sender(settings, {
            "linger.ms": settings.kafka.producer_linger_ms, "acks": 1, "enable.idempotence": False,
            "max.in.flight.requests.per.connection": 1,
        })

    def run(
        self, transactions: pd.DataFrame, labels: pd.DataFrame, label_delay_s: float,
        seed: int = 0, progress: Callable[[int], None] | None = None, retime: bool = True,
    ) -> ProduceReport:
        """Send until done: transactions paced by `event_time`, each label `label_delay_s` (mean) after.

        The schedule is anchored at the moment sending starts. With `retime`, event times
        are shifted so the first transaction happens now, keeping the batch's spacing;
        without, they are sent as they are (a batch that continues a fixed, historical
        world, as tests do, must not depend on today's date). Every record
        is encoded and partitioned before the clock starts, so the sending loop does
        nothing but wait and send: the load generator must not be what limits a benchmark.
        """
        rng = np.random.default_rng(seed)
        prepared = self._prepare(transactions, labels, rng, label_delay_s)
        shift_ms = now_ms() - int(transactions["event_time"].min())
        value_shift_ms = shift_ms if retime else 0
        report, started = ProduceReport(), time.monotonic()
        for due_ms, is_label, address, value in prepared:
            wait_s = (due_ms + shift_ms) / MS_PER_S - time.time()
            if wait_s > 0:
                time.sleep(wait_s)
            self._send(address, value(value_shift_ms), is_label, report)
            if progress and not is_label:
                progress(1)
        self.producer.flush()
        report.seconds = time.monotonic() - started
        return report

    def _prepare(self, transactions: pd.DataFrame, labels: pd.DataFrame, rng: np.random.Generator,
                 label_delay_s: float) -> list[tuple[int, bool, _Address, Callable[[int], bytes]]]:
        """(due, is_label, address, value as a function of the schedule's shift) for every record, in due order."""
        tx = transactions[list(TRANSACTION_COLUMNS)].reset_index(drop=True)
        fraud = labels.set_index("tx_id")["is_fraud"].reindex(tx["tx_id"]).to_numpy()
        label_due = tx["event_time"].to_numpy() + (rng.exponential(label_delay_s, len(tx)) * MS_PER_S).astype(np.int64)
        schedule = []
        for record, is_fraud, due in zip(tx.to_dict("records"), fraud, label_due, strict=True):
            schedule.append((record["event_time"], False, self._address(record, False), _shifted(record, "event_time")))
            label = {"tx_id": record["tx_id"], "merchant_id": record["merchant_id"], "is_fraud": int(is_fraud),
                     "label_time": int(due)}
            schedule.append((int(due), True, self._address(label, True), _shifted(label, "label_time")))
        schedule.sort(key=lambda item: item[:2])
        return schedule

    def replay(self, transactions: pd.DataFrame, labels: pd.DataFrame) -> ProduceReport:
        """Send both as fast as possible, times untouched, in the order of their `arrival` columns."""
        report, started = ProduceReport(), time.monotonic()
        tx = zip(transactions["arrival"], transactions[list(TRANSACTION_COLUMNS)].to_dict("records"), strict=True)
        lb = zip(labels["arrival"], labels[list(LABEL_COLUMNS)].to_dict("records"), strict=True)
        tagged = heapq.merge(((a, False, r) for a, r in tx), ((a, True, r) for a, r in lb), key=lambda item: item[:2])
        for _, is_label, record in tagged:
            self._send(self._address(record, is_label), _json_value(record), is_label, report)
        self.producer.flush()
        report.seconds = time.monotonic() - started
        return report

    def _address(self, record: dict[str, Any], is_label: bool) -> _Address:
        """Topic, key and partition: transactions keyed by card, labels by transaction."""
        topics = self.settings.topics
        topic, key = (topics.labels, record["tx_id"]) if is_label else (topics.transactions, record["cc_num"])
        return _Address(topic, key.encode(), partition_for(key, self.partitions))

    def _send(self, address: _Address, value: bytes, is_label: bool, report: ProduceReport) -> None:
        self.producer.send(address.topic, address.key, value, address.partition)
        if is_label:
            report.labels += 1
        else:
            report.transactions += 1
            report.per_partition[address.partition] += 1

    def close(self) -> None:
        self.producer.close()
