"""A backlog drained through a pause in reading: silence is not the end of the data, so nothing turns late."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs.stream import start_stream
from skewless.messaging.broker import EmbeddedBroker
from skewless.messaging.producer import LiveProducer, true_end_offsets
from skewless.messaging.topics import ensure_topics, read_json, read_records
from skewless.synthetic.history import live_batch, load_population
from tests.conftest import HISTORY_END_MS, with_own_topics

pytestmark = pytest.mark.integration

BACKLOG = 40_000
PAUSE_S = 10.0


def test_a_broker_pause_mid_backlog_makes_nothing_late(trained_model):
    """The broker stops answering for 10 s while the job reads a backlog whose partitions it has read to different times.

    The source goes silent for longer than the silence rule; releasing event time then
    would make every row of a partition that was behind late.
    """
    s = with_own_topics(trained_model, "pause")
    ensure_topics(s)
    start = {t: true_end_offsets(s, t, s.topics.partitions) for t in (s.topics.transactions, s.topics.labels)}
    transactions, labels = live_batch(load_population(s), count=BACKLOG, rate=BACKLOG / 60, seed=21,
                                      start_ms=HISTORY_END_MS + 7_200_000)
    labels = labels.assign(label_time=transactions["event_time"].to_numpy() + 500)
    producer = LiveProducer(s)
    try:
        producer.replay(transactions.assign(arrival=transactions["event_time"]), labels.assign(arrival=labels["label_time"]))
    finally:
        producer.close()
    broker = EmbeddedBroker(s).status().pid
    assert broker is not None, "this test pauses the embedded broker"
    job = start_stream(s, start_offsets=start)
    try:
        assert next(read_json(s, s.topics.scores, expect=1, idle_timeout_s=120), None), "no score"
        os.kill(broker, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_S)
        finally:
            os.kill(broker, signal.SIGCONT)
        scored = [r["tx_id"] for r in read_json(s, s.topics.scores, expect=len(transactions), idle_timeout_s=60, deadline_s=600)]
        late = [r.value["tx_id"] for r in read_records(s, s.topics.late_transactions, idle_timeout_s=5)]
    finally:
        job.get_job_client().cancel().result()
    assert late == [], f"{len(late)} of {len(transactions)} set aside as late"
    assert sorted(scored) == sorted(transactions["tx_id"])
