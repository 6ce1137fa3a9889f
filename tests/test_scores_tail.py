"""`skewless scores tail` prints each transaction once, though an at-least-once sink repeated its score."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from skewless.messaging.topics import ensure_topics
from tests.cli_helpers import invoke

pytestmark = pytest.mark.integration


def test_tail_drops_repeated_scores(settings, broker):
    s = settings.model_copy(update={"topics": settings.topics.model_copy(update={"scores": "tail-scores"})})
    ensure_topics(s, [s.topics.scores])
    producer = KafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
    for tx_id, scored_at in (("t1", 1), ("t2", 2), ("t1", 3), ("t3", 4), ("t2", 5)):  # t1 and t2 replayed after a restart
        producer.send(s.topics.scores, key=b"card", value=json.dumps({"tx_id": tx_id, "scored_at": scored_at}).encode())
    producer.flush()
    producer.close()
    lines = invoke(s, "scores", "tail", "-n", "100").splitlines()  # stdout, and the client's log lines on stderr
    printed = [r for r in map(json.loads, lines) if "level" not in r]
    assert [(r["tx_id"], r["scored_at"]) for r in printed] == [("t1", 1), ("t2", 2), ("t3", 4)]
