"""The embedded broker over a real socket, and the end-offset quirk we work around."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer

from skewless.messaging.producer import true_end_offsets
from skewless.messaging.topics import ensure_topics, existing_topics

pytestmark = pytest.mark.integration


def test_true_end_offsets_count_every_record(settings, broker):
    topic = "end-offsets-check"
    settings = settings.model_copy(update={"topics": settings.topics.model_copy(update={"partitions": 3})})
    ensure_topics(settings, [topic])  # three partitions: many batches, one record, none
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, linger_ms=50)
    for batch in range(3):  # several batches: the broker reports the last batch's base offset
        for i in range(4):
            producer.send(topic, value=f"{batch}-{i}".encode(), partition=0)
        producer.flush()
    producer.send(topic, value=b"single", partition=2)
    producer.close()
    ends = true_end_offsets(settings, topic, settings.topics.partitions)
    assert ends == {0: 12, 1: 0, 2: 1}


def test_topics_are_created_with_the_configured_partitions(settings, broker):
    created = ensure_topics(settings, ["partition-check"])
    assert created == ["partition-check"]
    assert ensure_topics(settings, ["partition-check"]) == []  # idempotent
    assert "partition-check" in existing_topics(settings)
