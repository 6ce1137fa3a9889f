"""The whole loop on the embedded stack: every live transaction gets exactly one score."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from jobs.finite_run import run_finite_stream
from skewless.feast_store import read_online
from skewless.history import live_batch, load_population
from skewless.topics import ensure_topics, read_json
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
    scores = list(read_json(s, s.topics.scores, from_offsets=run.outputs_from[s.topics.scores], expect=len(transactions), idle_timeout_s=20))
    counts = Counter(r["tx_id"] for r in scores)
    assert set(counts) == wanted, f"missing scores for {sorted(wanted - set(counts))[:5]}"
    assert max(counts.values()) == 1
    by_tx = transactions.set_index("tx_id")
    for record in scores:
        assert set(record) == {"tx_id", "cc_num", "score", "model_version", "event_time", "scored_at", *feature_names()}
        assert record["model_version"] == "v1" and 0.0 <= record["score"] <= 1.0
        assert record["cc_num"] == by_tx.loc[record["tx_id"], "cc_num"]
        assert record["scored_at"] >= record["event_time"]

    labels_seen = list(read_json(s, s.topics.labels, idle_timeout_s=3))
    assert {r["tx_id"] for r in labels_seen} >= wanted

    cards = sorted(set(transactions["cc_num"]))
    online = read_online(s, CARD, cards)
    assert online["amount_count_card_1h"].notna().all(), "a card seen in the stream has no online features"
    last = transactions.sort_values("event_time").groupby("cc_num").tail(1).set_index("cc_num")
    online = online.set_index("cc_num")
    for card in cards:
        assert online.loc[card, "amount_sum_card_1h"] >= last.loc[card, "amount"] - 1e-9
