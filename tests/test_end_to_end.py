"""The whole loop on the embedded stack: every live transaction gets exactly one score."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import pandas_features
from jobs.backfill import stage_bootstrap
from jobs.drivers.finite_run import run_finite_stream, wait_running
from jobs.drivers.parity import with_disorder
from jobs.stream import start_stream
from skewless.config import Settings
from skewless.featurestore.store import apply_definitions, read_online, served_features_dir
from skewless.messaging.producer import LiveProducer, true_end_offsets
from skewless.messaging.topics import ensure_topics, read_json, read_records
from skewless.schema import normalise_transactions, read_table
from skewless.synthetic.history import LABELS_FILE, TRANSACTIONS_FILE, live_batch, load_population
from tests.cli_helpers import invoke_json
from tests.conftest import HISTORY_END_MS
from udfs.features import CARD, FEATURES, LabelRate, feature_names, features_of, model_inputs

pytestmark = pytest.mark.integration


def test_status_sees_the_running_stack(trained_model):
    trained = trained_model
    ensure_topics(trained)
    status = invoke_json(trained, "--output", "json", "status")
    assert " up " in status["broker"]
    assert "fraud-scores" in status["topics"].split(", ")
    assert status["model"] == "v1" and status["feast registry"] == "applied"


def _own_online_store(s: Settings, root: Path) -> Settings:
    """The trained workspace with an online store of its own.

    The live batch continues the history at past event times, while other tests stream the
    same cards at today's: in a shared store those newer rows stand, as they should, and
    this run's rows would be left out (`skewless.featurestore.sqlite_rows`).
    """
    shutil.copytree(s.feature_repo, root / "feature_repo", ignore=shutil.ignore_patterns("__pycache__"))
    for part in (s.models_dir, s.history_dir, s.model_update_key_file.parent):
        shutil.copytree(part, root / "data" / part.relative_to(s.data_dir))
    own = s.model_copy(update={"data_dir": root / "data", "feature_repo": root / "feature_repo"})
    apply_definitions(own)
    return own


@pytest.fixture(scope="module")
def live_run(trained_model, tmp_path_factory):
    """300 live transactions through a stream job bootstrapped from the generated history."""
    s = _own_online_store(trained_model, tmp_path_factory.mktemp("end-to-end"))
    live_from_ms = HISTORY_END_MS + 60_000  # the live batch continues the history, at its own (past) event times
    transactions, labels = live_batch(load_population(s), count=300, rate=150, seed=5, start_ms=live_from_ms)
    history, history_labels = s.history_dir / TRANSACTIONS_FILE, s.history_dir / LABELS_FILE
    bootstrap = stage_bootstrap(s, history, history_labels, live_from_ms)
    run = run_finite_stream(s, transactions, labels, bootstrap=bootstrap,
                            send=lambda producer: producer.run(transactions, labels, label_delay_s=0.5, retime=False))
    return s, transactions, labels, run


def test_bootstrapped_stream_features_equal_an_independent_computation_over_history_and_live(live_run):
    """No train/serve skew on day one: a fresh stream job's windows hold the history, as the backfill's do."""
    s, transactions, _, run = live_run
    scores = pd.DataFrame(read_json(s, s.topics.scores, from_offsets=run.outputs_from[s.topics.scores],
                                    expect=len(transactions), idle_timeout_s=20)).set_index("tx_id")
    history = normalise_transactions(read_table(s.history_dir / TRANSACTIONS_FILE), "history").rows
    live = transactions.assign(event_time=scores.loc[transactions["tx_id"], "event_time"].to_numpy())  # as sent
    known_labels = pd.read_parquet(s.history_dir / LABELS_FILE).iloc[:0]  # label rates are checked by parity
    reference = pandas_features.compute(pd.concat([history, live], ignore_index=True), known_labels).set_index("tx_id")
    compared = [f.name for f in FEATURES if not isinstance(f, LabelRate)]
    assert scores.loc[live["tx_id"], "amount_count_card_30d"].gt(1).mean() > 0.5, "history should fill the 30-day windows"
    for name in compared:
        a = scores.loc[live["tx_id"], name].to_numpy(float)
        b = reference.loc[live["tx_id"], name].to_numpy(float)
        agree = np.isclose(a, b, rtol=1e-9, atol=1e-6) | (np.isnan(a) & np.isnan(b))
        assert agree.all(), f"{name}: {(~agree).sum()} live rows differ from history+live computed in pandas"


def test_every_live_transaction_scored_exactly_once_and_served_online(live_run):
    s, transactions, labels, run = live_run
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
            "tx_id", "cc_num", "score", "decision", "policy", "model_version", "event_time", "scored_at", *model_inputs()}
        assert record["model_version"] == "v1" and 0.0 <= record["score"] <= 1.0
        assert record["policy"] == "fixed" and record["decision"] == int(record["score"] >= s.scoring.threshold)
        assert record["cc_num"] == by_tx.loc[record["tx_id"], "cc_num"]
        assert record["event_time"] <= record["scored_at"]

    served = pd.read_parquet(served_features_dir(s)).set_index("tx_id")
    logged = served.loc[sorted(wanted)]
    assert len(logged) == len(wanted), "the served-features log misses transactions"
    assert (logged["online_at"] >= logged["event_time"].astype("int64")).all(), "features online before their event"
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
    newest = logged.loc[last["tx_id"]].set_index("cc_num")  # each card's last transaction, as it was served
    names = [f.name for f in features_of(CARD)]
    assert online.loc[cards, names].equals(newest.loc[cards, names].astype(online[names].dtypes.to_dict())), \
        "the online store does not hold each card's newest features"


def test_late_events_go_to_the_late_topics_not_lost(trained_model):
    """One transaction and one label arrive far behind the watermark: set aside with the reason, not scored."""
    s = trained_model
    transactions, labels = live_batch(load_population(s), count=40, rate=10, seed=9)  # 4 s: past the lateness
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
        assert f"allowed lateness ({s.features.allowed_lateness_ms} ms)" in late[0].headers["__connect.errors.exception.message"]
        assert late[0].headers["skewless.rule"] == "event_time.late"


def test_a_quiet_stream_scores_its_last_transactions_without_more_traffic(trained_model):
    """Paced traffic, then silence: the silence rule moves event time on, so nothing waits for a next event."""
    s = trained_model
    ensure_topics(s)
    start = {t: true_end_offsets(s, t, s.topics.partitions) for t in (s.topics.transactions, s.topics.labels)}
    scores_from = true_end_offsets(s, s.topics.scores, s.topics.partitions)
    transactions, labels = live_batch(load_population(s), count=200, rate=100, seed=13, start_ms=HISTORY_END_MS + 3_600_000)
    job = start_stream(s, start_offsets=start)  # unbounded: no stop offsets, no final watermark
    try:
        wait_running(job)
        producer = LiveProducer(s)
        try:
            producer.run(transactions, labels, label_delay_s=0.2, retime=False)
        finally:
            producer.close()
        scores = read_json(s, s.topics.scores, from_offsets=scores_from, expect=len(transactions), idle_timeout_s=60)
        scored = {r["tx_id"] for r in scores}
        assert scored == set(transactions["tx_id"]), f"{len(set(transactions['tx_id']) - scored)} transactions still wait"
    finally:
        job.get_job_client().cancel().result()
