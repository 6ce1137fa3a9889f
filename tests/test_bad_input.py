"""A bad-input matrix through a running stream job and through the backfill: same verdict, same rule, nothing lost.

Each bad message breaks exactly one rule of `udfs.validation`; valid ones are mixed in
between. The stream must score every valid transaction, dead-letter every bad message
with its rule (counted by distinct topic/partition/offset: the embedded broker delivers
at least once), and never restart (restarts are off here: one failure fails the test).
The backfill, given the same bytes as JSON lines, must set aside the same records with
the same rules.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from kafka import KafkaProducer

from jobs.stream import start_stream
from skewless.messaging.producer import true_end_offsets
from skewless.messaging.topics import ensure_topics, read_json, read_records
from skewless.records import DEAD_LETTER_HEADERS, RULE_HEADER
from skewless.schema import normalise_labels, normalise_transactions, read_table
from skewless.synthetic.history import live_batch, load_population
from tests.conftest import HISTORY_END_MS, with_own_topics
from udfs.units import now_ms
from udfs.validation import LABEL_RECORD, MAX_RECORD_BYTES

pytestmark = pytest.mark.integration
FAR_FUTURE_MS = 10 * 86_400_000


def _json(record: dict) -> bytes:
    return json.dumps(record).encode()


def _transaction_matrix(valid: list[dict]) -> list[tuple[bytes, str | None]]:
    """(message, the rule it breaks or None), valid ones between the bad ones; `valid[0]` is repeated once."""
    base = valid[0]
    now = now_ms()
    bad = [
        (b"not json at all", "record.json"),
        (b"\xff\xfe{\"tx_id\": 1}", "record.utf8"),
        (b"", "record.json"),
        (b"[1, 2]", "record.json"),
        (_json({k: v for k, v in base.items() if k != "cc_num"} | {"tx_id": "m-missing"}), "cc_num.required"),
        (_json(base | {"tx_id": "m-type", "amount": "12.50"}), "amount.type"),
        (_json(base | {"tx_id": "m-nan"}).replace(str(base["amount"]).encode(), b"NaN"), "amount.range"),
        (_json(base | {"tx_id": "m-inf"}).replace(str(base["amount"]).encode(), b"Infinity"), "amount.range"),
        (_json(base | {"tx_id": "m-lat", "lat": 999.0}), "lat.range"),
        (_json(base | {"tx_id": "m-pair", "lon": None}), "location.pair"),
        (_json(base | {"tx_id": "m-negative", "amount": -5.0}), "amount.range"),
        (_json(base | {"tx_id": "m-huge", "amount": 1e10}), "amount.range"),
        (_json(base | {"tx_id": "m-null-time", "event_time": None}), "event_time.required"),
        (_json(base | {"tx_id": "m-future", "event_time": now + FAR_FUTURE_MS}), "event_time.range"),
        (_json(base | {"tx_id": "m-seconds", "event_time": base["event_time"] // 1000}), "event_time.range"),
        (_json(base | {"tx_id": "m-big", "category": "x" * MAX_RECORD_BYTES}), "record.size"),
        (_json(base), "tx_id.unique"),
    ]
    zero = [(_json(valid[1] | {"amount": 0.0}), None)]  # a $0 verification is a valid transaction
    good = [(_json(record), None) for record in valid[:1] + valid[2:]]
    mixed = [good[0], *zero]
    for i, message in enumerate(bad):
        mixed += [message] + good[1 + i:2 + i]
    return mixed + good[len(bad) + 1:]


def _label_matrix(valid: list[dict]) -> list[tuple[bytes, str | None]]:
    base = valid[0]
    good = [(_json(record), None) for record in valid]
    bad = [
        (b"{broken", "record.json"),
        (_json(base | {"tx_id": "lab-2", "is_fraud": 5}), "is_fraud.range"),
        (_json(base | {"is_fraud": "yes"}), "is_fraud.type"),
        (_json(base | {"tx_id": "no-such-tx"}), "tx_id.known"),
        (_json(base | {"label_time": base["label_time"] + 5}), "label.unique"),
    ]
    return good + bad


def _produce(settings, topic: str, messages: list[tuple[bytes, str | None]], partition: int) -> None:
    """Every message to one partition, so arrival order is the list's order (duplicates come after originals)."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, max_request_size=4 * MAX_RECORD_BYTES)
    for value, _ in messages:
        producer.send(topic, value=value, key=b"matrix", partition=partition)
    producer.flush()
    producer.close()


def _dead_letters(settings, topic: str, from_offsets: dict[int, int], expect: int) -> dict[tuple[str, str, str], str]:
    """(source topic, partition, offset) -> rule, over distinct source offsets (the broker is at-least-once)."""
    records = read_records(settings, topic, from_offsets=from_offsets, expect=expect, idle_timeout_s=10, decode=bytes)
    topic_, partition, offset = DEAD_LETTER_HEADERS[:3]
    return {(r.headers[topic_], r.headers[partition], r.headers[offset]): r.headers[RULE_HEADER] for r in records}


@pytest.fixture(scope="module")
def matrix(trained_model):
    s = trained_model
    transactions, labels = live_batch(load_population(s), count=40, rate=20, seed=21, start_ms=HISTORY_END_MS + 7_200_000)
    records = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in transactions.to_dict("records")]
    for record in records:
        record["event_time"] = int(record["event_time"])
    label_records = [{"tx_id": r["tx_id"], "merchant_id": r["merchant_id"], "is_fraud": int(r["is_fraud"]),
                      "label_time": int(r["label_time"])} for r in labels.head(5).to_dict("records")]
    label_records = [label | {"label_time": max(label["label_time"], records[-1]["event_time"] + 1)} for label in label_records]
    return s, _transaction_matrix(records), _label_matrix(label_records), records


def test_every_bad_message_is_dead_lettered_with_its_rule_and_every_valid_one_scored(matrix):
    """On topics of its own: other tests read whole topics and expect only valid messages there."""
    s, tx_matrix, label_matrix, records = matrix
    s = with_own_topics(s, "matrix")
    s = s.model_copy(update={"flink": s.flink.model_copy(update={"restart_attempts": 0})})
    ensure_topics(s)
    topics, partitions = s.topics, s.topics.partitions
    inputs = {topics.transactions: tx_matrix, topics.labels: label_matrix}
    start = {t: true_end_offsets(s, t, partitions) for t in inputs}
    stop = {t: {p: o + (len(inputs[t]) if p == 0 else 0) for p, o in start[t].items()} for t in inputs}
    outputs = (topics.scores, topics.dead_letters, topics.label_dead_letters)
    outputs_from = {t: true_end_offsets(s, t, partitions) for t in outputs}
    for topic, messages in inputs.items():
        _produce(s, topic, messages, partition=0)
    start_stream(s, start_offsets=start, stop_offsets=stop).wait()  # fails on any failure: no restarts allowed

    valid_tx = {json.loads(v)["tx_id"] for v, rule in tx_matrix if rule is None}
    scores = list(read_json(s, topics.scores, from_offsets=outputs_from[topics.scores], expect=len(valid_tx), idle_timeout_s=10))
    assert {r["tx_id"] for r in scores} == valid_tx
    for topic, dlq in ((topics.transactions, topics.dead_letters), (topics.labels, topics.label_dead_letters)):
        expected = {(topic, "0", str(start[topic][0] + i)): rule for i, (_, rule) in enumerate(inputs[topic]) if rule}
        assert _dead_letters(s, dlq, outputs_from[dlq], len(expected)) == expected, topic


def test_the_backfill_sets_aside_the_same_records_with_the_same_rules(matrix, tmp_path):
    s, tx_matrix, label_matrix, records = matrix
    paths = {}
    for name, messages in (("transactions", tx_matrix), ("labels", label_matrix)):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_bytes(b"\n".join(value for value, _ in messages) + b"\n")
    normalised = normalise_transactions(read_table(paths["transactions"]), paths["transactions"], keep_order=True)
    verdicts = normalised.rejected["reject_rule"].reindex(range(len(tx_matrix)))
    assert [None if pd.isna(v) else v for v in verdicts] == [rule for _, rule in tx_matrix]
    labels = normalise_labels(read_table(paths["labels"], kind=LABEL_RECORD), paths["labels"], normalised.rows)
    verdicts = labels.rejected["reject_rule"].reindex(range(len(label_matrix)))
    assert [None if pd.isna(v) else v for v in verdicts] == [rule for _, rule in label_matrix]
