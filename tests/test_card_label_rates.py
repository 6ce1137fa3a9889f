"""A label rate keyed by card: labels carry no card, each takes its transaction's, the same way in every path.

Card label rates are not declared (they did not raise held-out AP: `bench/feature_catalogue.py`),
so the declared-feature tests do not cover them; a user who declares one gets these values.
The engine runs with one more feature in three paths (a history in time order, a history
read as it arrived, the topics through the stream's admission), and each must equal the
pandas reference, which takes a label's card from its transaction by tx_id.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from bench import pandas_features
from jobs.admission import admit
from jobs.backfill import compute_features, read_features, stage_history, write_features
from jobs.drivers.finite_run import plan_offsets
from jobs.drivers.parity import with_disorder
from jobs.flink_env import create_table_env
from jobs.sources import read_topic
from skewless.messaging.producer import LiveProducer
from skewless.messaging.topics import ensure_topics
from skewless.synthetic.generator import Population, simulate
from tests.conftest import with_own_topics
from udfs.features import CARD, FEATURES, LabelRate
from udfs.units import DAY_MS, DAY_S
from udfs.validation import RECORDS

pytestmark = pytest.mark.integration
CARD_RATE = LabelRate(CARD, 7 * DAY_S)
WITH_CARD_RATE = (*FEATURES, CARD_RATE)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two days of a small world, labels within hours so the 7-day card rates move."""
    tx, labels = simulate(Population.build(13, 60, 15), 13, 1_767_225_600_000, 1_767_225_600_000 + 2 * DAY_MS, 1_500)
    rng = np.random.default_rng(6)
    labels = labels.assign(label_time=tx["event_time"].to_numpy() + rng.integers(1, 6 * 3_600_000, len(tx)))
    folder = tmp_path_factory.mktemp("card-rates")
    tx.to_parquet(folder / "tx.parquet")
    labels.to_parquet(folder / "labels.parquet")
    expected = pandas_features.compute(tx, labels, (CARD_RATE,)).set_index("tx_id")[CARD_RATE.name]
    return folder / "tx.parquet", folder / "labels.parquet", expected


def _same(actual: pd.Series, expected: pd.Series) -> list[str]:
    """tx_ids whose value differs (NaN equals NaN)."""
    a, b = actual.to_numpy(float), expected.loc[actual.index].to_numpy(float)
    agree = np.isclose(a, b, rtol=1e-12, atol=0) | (np.isnan(a) & np.isnan(b))
    return actual.index[~agree].tolist()


def test_a_card_label_rate_needs_the_labelled_transactions_card():
    """Hand-checked: card 1's fraud label counts for card 1 only, at a merchant card 2 shares."""
    t = 10 * DAY_MS
    tx = pd.DataFrame({"tx_id": ["a", "b", "c", "d"], "cc_num": ["1", "2", "1", "2"], "merchant_id": ["m"] * 4,
                       "amount": [1.0] * 4, "lat": [None] * 4, "lon": [None] * 4, "event_time": [t, t, t + DAY_MS, t + DAY_MS]})
    labels = pd.DataFrame({"tx_id": ["a", "b"], "merchant_id": ["m", "m"], "is_fraud": [1, 0], "label_time": [t + 5, t + 5]})
    rate = pandas_features.compute(tx, labels, (CARD_RATE,)).set_index("tx_id")[CARD_RATE.name]
    assert rate["c"] == 1.0 and rate["d"] == 0.0
    assert math.isnan(rate["a"]) and math.isnan(rate["b"])  # their own labels came after them


def test_backfill_in_time_order_and_as_arrived(settings, feast_applied, history):
    tx_path, labels_path, expected = history
    moving = expected.dropna()
    assert len(moving) > 100 and moving.between(0, 1).all() and (moving > 0).any() and (moving < 1).any()
    for as_arrived in (False, True):
        staged = stage_history(settings, tx_path, labels_path, as_arrived=as_arrived, name=f"card-rates-{as_arrived}")
        computed = compute_features(settings, staged, WITH_CARD_RATE).features.set_index("tx_id")[CARD_RATE.name]
        assert len(computed) == len(expected)
        assert _same(computed, expected) == [], f"as_arrived={as_arrived}"


def test_stream_admission_gives_labels_their_card(settings, broker, feast_applied, history, tmp_path):
    """The topics, read and admitted as the stream job does, into the engine with the card rate."""
    tx_path, labels_path, expected = history
    s = with_own_topics(settings, "card-rates")
    ensure_topics(s)
    staged = stage_history(s, tx_path, labels_path, name="card-rates-stream")
    lateness = s.features.allowed_lateness_ms
    transactions = with_disorder(staged.rows, "event_time", lateness, seed=1)
    labels = with_disorder(staged.labels, "label_time", lateness, seed=2)
    start, stop = plan_offsets(s, transactions, labels)
    producer = LiveProducer(s)
    try:
        producer.replay(transactions, labels)
    finally:
        producer.close()
    t_env = create_table_env(s, "latency")
    admitted = admit([read_topic(t_env, s, kind, start, stop) for kind in RECORDS], None, lateness)
    out = tmp_path / "engine"
    shutil.rmtree(out, ignore_errors=True)
    write_features(admitted.events, WITH_CARD_RATE, out)
    t_env._j_tenv.execEnv().execute("card label rates from the topics")
    streamed = read_features(out, WITH_CARD_RATE).to_pandas().set_index("tx_id")[CARD_RATE.name]
    assert len(streamed) == len(expected)
    assert _same(streamed, expected) == []
