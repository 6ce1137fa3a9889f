"""Decision policies: each becomes one threshold at training, stored with the model, and serving follows it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.pandas_features import compute
from models.policy import OVERRIDE, PolicySpec, choose, serving_rule
from models.registry import Registry
from models.train import TrainingSet, train
from skewless.synthetic.generator import Population, simulate
from udfs.units import DAY_MS

DAY_S = DAY_MS


def _rows(cards, times, amounts, fraud):
    return pd.DataFrame({"cc_num": cards, "event_time": times, "amount": amounts, "is_fraud": fraud})


def test_budget_threshold_alerts_about_k_cards_a_day_without_ranking_in_the_stream():
    # day 0: a 0.9 (its best of two), b 0.8, c 0.1; day 1: d 0.7, e 0.3. Two cards a day: 0.8 and 0.3, median 0.55
    rows = _rows(["a", "a", "b", "c", "d", "e"], [0, 5, 10, 20, DAY_S, DAY_S + 1], [1.0] * 6, [0] * 6)
    rule = choose(PolicySpec("budget", alert_budget_cards_per_day=2), rows, np.array([0.2, 0.9, 0.8, 0.1, 0.7, 0.3]))
    assert (rule.policy, rule.threshold) == ("budget", 0.55)
    assert rule.chosen_on["alert_budget_cards_per_day"] == 2


def test_cost_threshold_weighs_missed_fraud_amounts_against_reviews():
    rows = _rows(["a", "b", "c", "d"], [0] * 4, [100.0, 50.0, 30.0, 10.0], [1, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.6, 0.2])
    # review 20: alert the top one (miss 30 + 20 = 50) beats the top three (0 + 60); review 5: the top three (15)
    assert choose(PolicySpec("cost", review_cost=20.0), rows, score).threshold == 0.9
    assert choose(PolicySpec("cost", review_cost=5.0), rows, score).threshold == 0.6
    too_dear = choose(PolicySpec("cost", review_cost=1_000.0), rows, score).threshold
    assert too_dear > 0.9  # reviewing anything costs more than the fraud: nothing is alerted


def test_fixed_policy_keeps_its_threshold():
    rule = choose(PolicySpec("fixed", threshold=0.7), _rows(["a"], [0], [1.0], [1]), np.array([0.1]))
    assert (rule.policy, rule.threshold) == ("fixed", 0.7)


def test_serving_follows_the_model_unless_the_settings_override_it():
    stored = {"policy": "budget", "threshold": 0.23, "chosen_on": {}}
    assert serving_rule(stored, None, 0.5) == ("budget", 0.23)
    assert serving_rule(stored, 0.9, 0.5) == (OVERRIDE, 0.9)
    assert serving_rule({}, None, 0.5) == ("fixed", 0.5)  # a model stored before decision rules


def test_train_stores_the_rule_and_reports_fraud_team_metrics_at_it(tmp_path):
    start = 1_767_225_600_000
    tx, labels = simulate(Population.build(3, 600, 120), 3, start, start + 14 * DAY_MS, 600 * 2 * 14)
    frame = compute(tx, labels).merge(labels[["tx_id", "is_fraud", "label_time"]], on="tx_id").sort_values(["event_time", "tx_id"])
    meta = train(TrainingSet(frame.reset_index(drop=True), int(frame["label_time"].max())), tmp_path,
                 policy=PolicySpec("budget", alert_budget_cards_per_day=20))
    stored = Registry(tmp_path).meta(meta.version)
    assert stored.decision["policy"] == "budget" and 0.0 < stored.decision["threshold"] < 1.0
    assert stored.metrics["threshold"] == stored.decision["threshold"]
    assert 0.0 <= stored.metrics["card_precision_at_100_per_day"] <= 1.0
    assert stored.metrics["fraud_amount_caught_over_lost"] >= 0.0
