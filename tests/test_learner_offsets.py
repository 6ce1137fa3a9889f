"""A restarted learner resumes after the labels it committed, and still joins them with scores served before.

Real embedded broker, topics of their own; the learner runs `--once` twice in one
consumer group, as `skewless learn` restarted would.
"""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from models.learner import Learner
from models.online import UpdatePolicy
from skewless.config import Settings
from skewless.messaging.topics import ensure_topics
from udfs.features import model_inputs

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(settings: Settings, broker) -> Settings:
    s = settings.model_copy(update={
        "topics": settings.topics.model_copy(update={"scores": "learner-scores", "labels": "learner-labels"}),
        "kafka": settings.kafka.model_copy(update={"consumer_group": "learner-offsets-test"}),
    })
    ensure_topics(s, [s.topics.scores, s.topics.labels])
    return s


def _send(s: Settings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
    for value in values:
        producer.send(topic, value=value, partition=0)
    producer.flush()
    producer.close()


def _score(tx_id: str) -> bytes:
    return json.dumps({name: 1.0 for name in model_inputs()} | {"tx_id": tx_id, "event_time": 5, "model_version": "v1"}).encode()


def _label(tx_id: str) -> bytes:
    return json.dumps({"tx_id": tx_id, "merchant_id": "m", "is_fraud": 0, "label_time": 1_767_225_600_000}).encode()


def _learn(s: Settings, idle_s: float = 3.0) -> Learner:
    learner = Learner(s, UpdatePolicy())
    learner._update = lambda trigger: None  # the join and the offsets are under test, not the gate
    learner.run(once=True, idle_s=idle_s)
    return learner


def test_a_restarted_learner_takes_each_label_once_and_joins_it_with_earlier_scores(topics):
    s = topics
    _learn(s, idle_s=1.0)  # a new group starts at the end, and commits it
    _send(s, s.topics.scores, [_score(f"t{i}") for i in range(6)])
    _send(s, s.topics.labels, [_label("t0"), _label("t1"), b"not json", _label("t1")])
    before = _learn(s)
    assert [r["tx_id"] for r in before.labelled] == ["t0", "t1"]
    assert before.report.labels_dropped == {"record.json": 1, "label.unique": 1}

    _send(s, s.topics.labels, [_label("t2"), _label("t3")])
    after = _learn(s)  # a restart: same group, nothing in memory
    assert after.report.labels_read == 2, "labels committed before the restart were read again"
    assert [r["tx_id"] for r in after.labelled] == ["t2", "t3"]  # scores served before the restart still join
    assert after.report.scores_read == 6
