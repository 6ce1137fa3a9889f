"""The whole loop on the embedded stack: every live transaction gets exactly one score."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from jobs.finite_run import run_finite_stream
from jobs.parity import with_disorder
from skewless.feast_store import read_online, served_features_dir
from skewless.history import live_batch, load_population
from skewless.producer import true_end_offsets
from skewless.topics import ensure_topics, read_json, read_records
from tests.cli_helpers import invoke
from udfs.features import CARD, feature_names

pytestmark = pytest.mark.integration


def test_status_sees_the_running_stack(trained_model):
    trained = trained_model
    ensure_topics(trained)
    status = json.loads(invoke(trained, "--output", "json", "status"))
    assert " up " in status["broker"]
    assert "fraud-scores" in status["topics"].split(", ")
    assert status["model"] == "v1" and status["feast registry"] == "applied"


def test_every_live_transaction_scored_exactly_once_and_served_online(trained_model):
    s = trained_model
    transactions, labels = live_batch(load_population(s), count=300, rate=150, seed=5)
    run = run_finite_stream(s, transactions, labels, send=lambda producer: producer.run(transactions, labels, label_delay_s=0.5))
    assert run.produced.transactions == len(transactions)

    wanted = set(transactions["tx_id"])
    scores_from = run.outputs_from[s.topics.scores]
    scores = list(read_json(s, s.topics.scores, from_offsets=scores_from, expect=len(transactions), idle_timeout_s=20))
    counts = Counter(r["tx_id"] for r in scores)
    assert set(counts) == wanted, f"missing scores for {sorted(wanted - set(counts))[:5]}"
    assert max(counts.values()) == 1
    by_tx = transactions.set_index("tx_id")
    for record in scores:
        assert set(record) == {
            "tx_id", "cc_num", "score", "decision", "model_version", "event_time", "online_at", "scored_at", *feature_names()}
        assert record["model_version"] == "v1" and 0.0 <= record["score"] <= 1.0
        assert record["decision"] == int(record["score"] >= s.scoring.threshold)
        assert record["cc_num"] == by_tx.loc[record["tx_id"], "cc_num"]
        assert record["event_time"] <= record["online_at"] <= record["scored_at"]

    served = pd.read_parquet(served_features_dir(s)).set_index("tx_id")
    logged = served.loc[sorted(wanted)]
    assert len(logged) == len(wanted), "the served-features log misses transactions"
    for record in scores:
        for name in feature_names():
            ours, theirs = logged.loc[record["tx_id"], name], record[name]
            assert (pd.isna(ours) and theirs is None) or ours == theirs, f"{record['tx_id']}.{name}: log {ours} != served {theirs}"

    labels_seen = list(read_json(s, s.topics.labels, idle_timeout_s=3))
    assert {r["tx_id"] for r in labels_seen} >= wanted

    cards = sorted(set(transactions["cc_num"]))
    online = read_online(s, CARD, cards)
    assert online["amount_count_card_1h"].notna().all(), "a card seen in the stream has no online features"
    last = transactions.sort_values("event_time").groupby("cc_num").tail(1).set_index("cc_num")
    online = online.set_index("cc_num")
    for card in cards:
        assert online.loc[card, "amount_sum_card_1h"] >= last.loc[card, "amount"] - 1e-9


def test_late_events_go_to_the_late_topics_not_lost(trained_model):
    """One transaction and one label arrive far behind the watermark: set aside with the reason, not scored."""
    s = trained_model
    transactions, labels = live_batch(load_population(s), count=40, rate=10, seed=9)  # 4 s: past the 1 s lateness
    transactions = transactions.assign(event_time=transactions["event_time"] - 600_000)
    labels = labels.assign(label_time=transactions["event_time"] + 1)
    late_tx = transactions.iloc[[0]].assign(tx_id="late-tx", event_time=transactions["event_time"].min() - 60_000)
    late_label = labels.iloc[[0]].assign(tx_id="late-tx", label_time=late_tx["event_time"].iloc[0] + 1)
    on_time = with_disorder(transactions, "event_time", 0, 0), with_disorder(labels, "label_time", 0, 0)
    late = late_tx.assign(arrival=0.0), late_label.assign(arrival=0.0)

    scores_from = true_end_offsets(s, s.topics.scores, s.topics.partitions)

    def send(producer):
        producer.replay(*on_time)
        # Nothing is late before the first watermark: wait until scores show one has passed.
        assert next(read_json(s, s.topics.scores, from_offsets=scores_from, expect=1, idle_timeout_s=60), None)
        return producer.replay(*late)

    transactions, labels = pd.concat([on_time[0], late[0]]), pd.concat([on_time[1], late[1]])
    run = run_finite_stream(s, transactions, labels, send=send)

    scored = {r["tx_id"] for r in read_json(s, s.topics.scores, from_offsets=run.outputs_from[s.topics.scores],
                                            expect=len(transactions) - 1, idle_timeout_s=10)}
    assert scored == set(transactions["tx_id"]) - {"late-tx"}
    for topic, key in ((s.topics.late_transactions, late_tx["cc_num"].iloc[0]), (s.topics.late_labels, "late-tx")):
        late = list(read_records(s, topic, from_offsets=run.outputs_from[topic], expect=1, idle_timeout_s=10))
        assert [r.value["tx_id"] for r in late] == ["late-tx"], topic
        assert late[0].key == key
        assert "allowed lateness (1000 ms)" in late[0].headers["skewless.late.reason"]
        assert late[0].headers["skewless.late.missed_watermark"]
