"""Topic creation and reading, for the embedded broker and a real Kafka alike.

Topics are created explicitly with the configured partition count: the embedded
broker would otherwise auto-create them with its own default.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from skewless.config import Settings
from skewless.errors import SkewlessError
from udfs.units import s_to_ms


def topic_names(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.transactions, t.labels, t.scores, t.model_updates, t.dead_letters, t.label_dead_letters, t.late_transactions,
            t.late_labels, t.drift]


def _admin(settings: Settings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.kafka.bootstrap_servers, client_id="skewless-admin",
            request_timeout_ms=10_000,
        )
    except KafkaError:
        raise SkewlessError(
            f"no Kafka broker at {settings.kafka.bootstrap_servers}: run `skewless up` first"
        ) from None


def ensure_topics(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Create the missing topics; returns the ones created."""
    names = topic_names(settings) if names is None else names
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(n, num_partitions=settings.topics.partitions, replication_factor=1) for n in missing]
            )
        return missing
    except KafkaError as exc:
        raise SkewlessError(f"could not create topics {names}: {exc}") from None
    finally:
        admin.close()


def existing_topics(settings: Settings) -> list[str]:
    admin = _admin(settings)
    try:
        return sorted(admin.list_topics())
    finally:
        admin.close()


@dataclass(frozen=True)
class Record:
    key: str | None
    value: Any
    headers: dict[str, str]
    timestamp_ms: int
    """The record's Kafka timestamp: when its producer sent it (CreateTime)."""


def read_json(
    settings: Settings, topic: str, expect: int | None = None, idle_timeout_s: float = 5.0,
    deadline_s: float = 120.0, from_offsets: dict[int, int] | None = None,
) -> Iterator[dict[str, Any]]:
    """The JSON values of `read_records`."""
    for record in read_records(settings, topic, expect, idle_timeout_s, deadline_s, from_offsets):
        yield record.value


def read_records(
    settings: Settings, topic: str, expect: int | None = None, idle_timeout_s: float = 5.0,
    deadline_s: float = 120.0, from_offsets: dict[int, int] | None = None,
    decode: Callable[[bytes], Any] = json.loads,
) -> Iterator[Record]:
    """Read every partition from `from_offsets` (default: the beginning) until `expect` records or idle.

    Counts what it reads rather than trusting end offsets, which the embedded
    broker reports one batch short. Dead letters hold what was sent, JSON or not:
    read them with `decode=bytes`.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False,
        auto_offset_reset="earliest", consumer_timeout_ms=s_to_ms(idle_timeout_s),
        isolation_level="read_committed",  # exactly-once sinks: only committed transactions
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        for partition, offset in (from_offsets or {}).items():
            consumer.seek(TopicPartition(topic, partition), offset)
        seen, stop_at = 0, time.monotonic() + deadline_s
        for message in consumer:
            key = message.key.decode(errors="replace") if message.key is not None else None
            headers = {k: v.decode() for k, v in (message.headers or [])}
            yield Record(key, decode(message.value) if message.value is not None else None, headers, message.timestamp)
            seen += 1
            if (expect is not None and seen >= expect) or time.monotonic() > stop_at:
                return
    finally:
        consumer.close()
