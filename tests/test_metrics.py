import numpy as np
import pytest

from models.metrics import average_precision, card_precision_at_k, card_recall_at_k, money_caught_over_lost, roc_auc


def test_perfect_and_inverted_rankings():
    y = np.array([0, 0, 1, 1])
    assert average_precision(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert average_precision(y, [0.9, 0.8, 0.2, 0.1]) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_ties_are_not_flattering():
    assert average_precision([1, 0], [0.5, 0.5]) == 0.5
    assert roc_auc([1, 0], [0.5, 0.5]) == 0.5


DAY = 86_400_000


def test_card_precision_counts_each_card_once_per_day_by_its_highest_score():
    # day 0: card a (fraud, best 0.9 over two transactions), b (0.8), c (fraud, 0.7); day 1: d (0.5, fraud) alone
    cards = ["a", "a", "b", "c", "d"]
    times = [0, 10, 20, 30, DAY + 1]
    scores = [0.2, 0.9, 0.8, 0.7, 0.5]
    fraud = [1, 0, 0, 1, 1]
    per_day = card_precision_at_k(cards, times, scores, fraud, k=2)
    assert per_day.tolist() == [0.5, 1.0]  # a and b reviewed on day 0 (a is compromised); d on day 1, the only card
    assert card_recall_at_k(cards, times, scores, fraud, k=2) == 2 / 3  # a and d caught, c missed


def test_money_caught_over_lost_weighs_fraud_by_amount():
    assert money_caught_over_lost([500.0, 20.0, 80.0, 5.0], [1, 1, 1, 0], [True, False, False, True]) == 5.0
    assert money_caught_over_lost([10.0], [1], [True]) == float("inf")
