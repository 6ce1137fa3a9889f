"""Warm-started candidates: weights for hard rows, and a gate that only promotes what holds up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xgboost as xgb

from models.online import UpdatePolicy, propose, sample_weights
from udfs.features import model_inputs

NAMES = list(model_inputs())


def test_misclassified_and_barely_classified_rows_weigh_more():
    y = np.array([1, 0, 1, 0, 1, 0])
    p = np.array([0.9, 0.55, 0.2, 0.1, 0.55, 0.45])
    assert sample_weights(y, p, UpdatePolicy(threshold=0.5, margin=0.1)).tolist() == [1, 3, 3, 1, 2, 2]


def _world(n: int, seed: int, new_pattern: bool) -> pd.DataFrame:
    """Fraud is a high amount; in the new pattern, also a high merchant 1-hour count."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, len(NAMES))), columns=NAMES)
    fraud = frame["amount"] > 1.8
    if new_pattern:
        fraud |= frame["amount_count_merchant_1h"] > 1.8
    return frame.assign(is_fraud=fraud.astype(int), event_time=np.arange(n), tx_id=[f"t{i}" for i in range(n)])


def _serving_model() -> xgb.Booster:
    old = _world(4000, 1, new_pattern=False)
    data = xgb.DMatrix(old[NAMES].to_numpy(np.float32), label=old["is_fraud"], feature_names=NAMES)
    return xgb.train({"objective": "binary:logistic", "max_depth": 3}, data, num_boost_round=20)


def test_a_candidate_that_learns_the_new_pattern_is_promoted():
    serving = _serving_model()
    decision = propose(serving, _world(4000, 2, new_pattern=True), UpdatePolicy())
    assert decision.promote, decision.reason
    assert decision.candidate_ap > decision.current_ap + 0.05
    assert decision.candidate.num_boosted_rounds() == serving.num_boosted_rounds() + UpdatePolicy().rounds  # warm start
    assert serving.num_boosted_rounds() == 20  # the serving model is untouched


def test_the_gate_refuses_what_it_cannot_judge_or_grow():
    serving = _serving_model()
    quiet = _world(2000, 3, new_pattern=False).assign(is_fraud=0)
    assert not propose(serving, quiet, UpdatePolicy()).promote
    assert "no fraud" in propose(serving, quiet, UpdatePolicy()).reason
    capped = propose(serving, _world(2000, 4, new_pattern=True), UpdatePolicy(max_trees=30))
    assert not capped.promote and "retrain from scratch" in capped.reason


def test_a_worse_candidate_is_kept_out():
    serving = _serving_model()
    flipped = _world(4000, 5, new_pattern=False)
    older = flipped.index < 2800  # the training part learns the opposite of what the held-out part shows
    flipped.loc[older, "is_fraud"] = 1 - flipped.loc[older, "is_fraud"]
    decision = propose(serving, flipped, UpdatePolicy(rounds=40))
    assert not decision.promote and "keep serving" in decision.reason


def _label(tx_id: str, is_fraud: object = 1, label_time: int = 1_767_225_600_000) -> bytes:
    return json.dumps({"tx_id": tx_id, "merchant_id": "m", "is_fraud": is_fraud, "label_time": label_time}).encode()


def test_learner_joins_a_label_with_its_served_features_in_either_order(tmp_path):
    from models.learner import Learner
    from skewless.config import load_settings

    s = load_settings(environ={}, overrides={"data_dir": tmp_path})
    learner = Learner(s, UpdatePolicy())
    served = {name: 1.0 for name in NAMES} | {"tx_id": "a", "event_time": 5, "model_version": "v1"}
    assert learner._take_score(json.dumps(served).encode()) == 0
    assert learner._take_labels([_label("a", 1)]) == 1
    assert learner._take_labels([_label("b", 0)]) == 0
    assert learner._take_score(json.dumps({**served, "tx_id": "b"}).encode()) == 1
    rows = list(learner.labelled)
    assert [(r["tx_id"], r["is_fraud"], r["amount"]) for r in rows] == [("a", 1, 1.0), ("b", 0, 1.0)]


def test_learner_drops_invalid_and_repeated_labels_with_their_rule(tmp_path):
    from models.learner import Learner
    from skewless.config import load_settings

    s = load_settings(environ={}, overrides={"data_dir": tmp_path})
    learner = Learner(s, UpdatePolicy())
    served = {name: 1.0 for name in NAMES} | {"event_time": 5, "model_version": "v1"}
    for tx_id in "abc":
        learner._take_score(json.dumps({**served, "tx_id": tx_id}).encode())
    assert learner._take_score(b"not json") == 0
    joined = learner._take_labels([_label("a"), b"\xff\xfe", b"{}", _label("b", 5), _label("c", "yes"), _label("a", 0),
                                   _label("c", 0, label_time=5)])
    assert joined == 1 and [r["tx_id"] for r in learner.labelled] == ["a"]
    assert learner.report.labels_dropped == {"record.utf8": 1, "tx_id.required": 1, "is_fraud.range": 1, "is_fraud.type": 1,
                                             "label.unique": 1, "label_time.range": 1}
    assert learner.report.scores_unreadable == 1 and learner.report.labels_read == 7
