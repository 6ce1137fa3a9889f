"""Drift measured in the streaming job: a week of quiet hours, then card testing starts, with the learner running.

The world is the generator's drift scenario: 45 days of history (backfilled, a model
trained on its last days, the stream bootstrapped from all of it), then a week and
four hours replayed through the real job on the real broker. Card testing starts at
01:00 on the eighth day, with twice the cards `skewless evaluate` sees in a night: at
its intensity the first hour holds about 45 testing transactions among 285 (PSI
0.15-0.17, measured) and only the second hour crosses 0.25.
"""

from __future__ import annotations

import shutil
import threading
import time

import pandas as pd
import pytest

from jobs.backfill import compute_features, stage_bootstrap, stage_history
from jobs.drivers.evaluation import WORLD_START_MS
from jobs.drivers.finite_run import run_finite_stream
from jobs.drivers.parity import with_disorder
from models.drift import window_psi
from models.learner import Learner
from models.online import UpdatePolicy
from models.train import TrainingSet, train
from models.updates import ensure_update_key
from skewless.featurestore.store import apply_definitions
from skewless.messaging.topics import ensure_topics, read_json
from skewless.synthetic.generator import Drift, Population, simulate
from skewless.synthetic.history import write_frames
from tests.cli_helpers import invoke_json
from tests.conftest import with_own_topics
from udfs.units import DAY_MS, HOUR_MS

pytestmark = pytest.mark.integration

CARDS, TX_PER_CARD_DAY, SEED = 1000, 20, 11
LIVE_FROM_MS = WORLD_START_MS + 45 * DAY_MS
SHIFT_MS = LIVE_FROM_MS + 7 * DAY_MS + HOUR_MS
END_MS = SHIFT_MS + 4 * HOUR_MS
TRAIN_FROM_MS = LIVE_FROM_MS - 12 * DAY_MS
"""The model learns from the last 12 days of history: every 30-day window in them is full, as in production."""


@pytest.fixture(scope="module")
def world(settings, broker, tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")  # its own registry: the model trained here serves no other test
    shutil.copytree(settings.feature_repo, root / "feature_repo", ignore=shutil.ignore_patterns("__pycache__"))
    data_dir = root / "data"
    s = with_own_topics(settings, "drift").model_copy(update={"data_dir": data_dir, "feature_repo": root / "feature_repo"})
    s = s.model_copy(update={"topics": s.topics.model_copy(update={"model_updates": "drift-model-updates"})})
    apply_definitions(s)
    ensure_update_key(s)
    population = Population.build(SEED, CARDS, CARDS // 5)
    testing = Drift(SHIFT_MS, cards_per_tx=2 * Drift.cards_per_tx * DAY_MS / (END_MS - SHIFT_MS))
    transactions, labels = simulate(population, SEED, WORLD_START_MS, END_MS,
                                    int(CARDS * TX_PER_CARD_DAY * (END_MS - WORLD_START_MS) / DAY_MS), drift=testing)
    history = transactions["event_time"] <= LIVE_FROM_MS
    files = write_frames(data_dir / "history", transactions[history], labels[history])
    arriving = (labels["label_time"] > LIVE_FROM_MS) & (labels["label_time"] < END_MS)  # of history and live alike
    return s, files, labels, transactions[~history], labels[arriving]


def test_psi_crosses_the_threshold_in_the_first_window_of_card_testing_and_in_no_window_of_the_week_before(world):
    s, files, labels, live, live_labels = world
    staged = stage_history(s, files.transactions, files.labels, labels_known_by_ms=LIVE_FROM_MS)
    features = compute_features(s, staged).features
    known = labels[labels["label_time"] <= LIVE_FROM_MS][["tx_id", "is_fraud"]]
    frame = features[features["event_time"] >= TRAIN_FROM_MS].merge(known, on="tx_id")
    model = train(TrainingSet(frame.sort_values(["event_time", "tx_id"]).reset_index(drop=True), LIVE_FROM_MS), s.models_dir)
    assert set(model.reference) >= {"score", "amount", "amount_count_card_1h"}

    ensure_topics(s)  # as `skewless up` does: the learner follows every partition of each topic
    learner = Learner(s, UpdatePolicy(), every_labels=10**9, every_s=10**9)
    thread = threading.Thread(target=learner.run, daemon=True)
    thread.start()
    try:
        lateness = s.features.allowed_lateness_ms
        transactions = with_disorder(live, "event_time", lateness, 1)
        label_rows = with_disorder(live_labels, "label_time", lateness, 2)
        bootstrap = stage_bootstrap(s, files.transactions, files.labels, LIVE_FROM_MS)
        run_finite_stream(s, transactions, label_rows, send=lambda p: p.replay(transactions, label_rows), bootstrap=bootstrap)
        windows = {w["window_start"]: w for w in read_json(s, s.topics.drift, idle_timeout_s=5)}
        before = [w for start, w in windows.items() if start < SHIFT_MS]
        assert len(before) == 7 * 24 + 1, "every hour of the week before the shift is measured"
        assert all(w["rows"] >= s.drift.min_rows for w in before)
        quiet = [(w["window_start"], w["top_feature"], round(w["top_psi"], 3)) for w in before if w["drifted"]]
        assert not quiet, f"drift reported in quiet hours: {quiet}"
        first = windows[SHIFT_MS]
        assert first["drifted"] and max(first["top_psi"], first["score_psi"]) > s.drift.threshold, first

        shown = invoke_json(s, "--output", "json", "drift", "--last", "3")  # the CLI reads the same topic
        starts = [w["window_start"] for w in shown]
        assert len(shown) == 3 and starts == sorted(starts) and starts[-1] == max(windows)

        scores = pd.DataFrame(read_json(s, s.topics.scores, expect=len(transactions), idle_timeout_s=10))
        for window in (first, before[-1]):  # the JVM's PSI is models.drift's, on the rows it scored
            start = window["window_start"]
            rows = scores[(scores["event_time"] >= start) & (scores["event_time"] < window["window_end"])
                          & (scores["model_version"] == window["model_version"])]
            assert len(rows) == window["rows"]
            expected = window_psi(rows, rows["score"].to_numpy(), model.reference, start, window["window_end"])
            assert expected.pop("score") == pytest.approx(window["score_psi"], abs=1e-9)
            assert expected == pytest.approx(window["psi"], abs=1e-9)

        deadline = time.monotonic() + 120
        while not any(d["trigger"] == "drift" for d in learner.report.decisions) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert learner.report.drift_events >= 1
        decided = [d for d in learner.report.decisions if d["trigger"] == "drift"]
        assert decided, "a drift event asks the learner for a candidate"
        assert decided[0]["reason"], "the candidate went through the gate, which says why"
    finally:
        learner.stop()
        thread.join(timeout=30)
