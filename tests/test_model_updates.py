"""A promotion reaches the running stream job: no restart, an atomic switch, every score names its version."""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np
import pytest

from jobs.drivers.finite_run import run_finite_stream
from jobs.drivers.parity import with_disorder
from models.registry import Registry, features_hash
from skewless.messaging.producer import true_end_offsets
from skewless.messaging.topics import read_json
from skewless.synthetic.history import live_batch, load_population
from tests.cli_helpers import invoke
from tests.conftest import other_model
from udfs.features import model_inputs

pytestmark = pytest.mark.integration


def test_promotion_switches_the_running_job_atomically(trained_model):
    s = trained_model
    registry = Registry(s.models_dir)
    before, candidate = registry.current(), other_model(registry)
    transactions, labels = live_batch(load_population(s), count=120, rate=10, seed=21)  # 12 s of event time
    transactions = with_disorder(transactions, "event_time", 0, 0)
    half = len(transactions) // 2
    # The pause between the halves lets the silence rule move event time to the newest the job read (the first
    # half's last label, 2 ms after its transaction): the second half comes later in event time too, as live
    # traffic after a pause would. Without the gap, a second half starting within 2 ms of the first would be late.
    second_half = np.arange(len(transactions)) >= half
    transactions = transactions.assign(event_time=transactions["event_time"].to_numpy() + np.where(second_half, 1_000, 0))
    labels = with_disorder(labels.assign(label_time=transactions["event_time"].to_numpy() + 1), "label_time", 0, 0)
    scores_from = true_end_offsets(s, s.topics.scores, s.topics.partitions)

    def send(producer):
        producer.replay(transactions.iloc[:half], labels.iloc[:half])
        assert next(read_json(s, s.topics.scores, from_offsets=scores_from, expect=1, idle_timeout_s=60), None)
        invoke(s, "models", "promote", candidate)  # registry + broadcast on model-updates
        time.sleep(2.0)  # the operator's follower polls every 200 ms
        received = time.time()  # the model takes over at the next checkpoint barrier
        # A running job's checkpoints (a finished one's are removed): none yet when the first half went fast.
        while max((m.stat().st_mtime for m in s.checkpoints_dir.glob("*/chk-*/_metadata")), default=0) <= received:
            time.sleep(0.5)
        return producer.replay(transactions.iloc[half:], labels.iloc[half:])

    try:
        run = run_finite_stream(s, transactions, labels, send=send)
        scores = list(read_json(s, s.topics.scores, from_offsets=run.outputs_from[s.topics.scores],
                                expect=len(transactions), idle_timeout_s=20))
    finally:
        invoke(s, "models", "promote", before)
    assert Counter(r["tx_id"] for r in scores) == Counter(transactions["tx_id"])
    versions = [r["model_version"] for r in sorted(scores, key=lambda r: (r["scored_at"], r["event_time"]))]
    assert versions[0] == before and versions[-1] == candidate
    switched = versions.index(candidate)
    assert set(versions[switched:]) == {candidate}, "a score by the old model after the switch"


def test_learn_joins_labels_with_served_features_and_decides(trained_model):
    """`skewless learn --once`: every label meets the features its transaction was scored with."""
    s = trained_model
    registry = Registry(s.models_dir)
    before = registry.current()
    transactions, labels = live_batch(load_population(s), count=200, rate=200, seed=31)
    labels = labels.assign(is_fraud=(np.random.default_rng(2).random(len(labels)) < 0.2).astype(int))  # fraud in both slices
    run_finite_stream(s, transactions, labels, send=lambda producer: producer.run(transactions, labels, label_delay_s=0.2))
    try:
        out = invoke(s, "learn", "--once", "--from-beginning")
        labelled = int(re.search(r"labelled served rows\s+(\d+)", out).group(1))
        assert labelled >= len(transactions)
        assert "candidate AP" in out  # a candidate was trained and judged on the held-out slice
        if registry.current() != before:
            meta = registry.meta(registry.current())
            assert meta.parent == before and meta.training["kind"] == "warm start"
            assert meta.features_hash == features_hash(list(model_inputs()))
            assert meta.training["trees_total"] == registry.load(before)[0].num_boosted_rounds() + meta.training["trees_added"]
    finally:
        invoke(s, "models", "promote", before)
