"""Fraud-model metrics in numpy (scikit-learn's joblib conflicts with PyFlink's pins)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from udfs.units import DAY_MS


def average_precision(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Mean precision at the rank of each positive (ties broken pessimistically).

    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333333333333333
    """
    y, score = np.asarray(y), np.asarray(score)
    if y.sum() == 0:
        return float("nan")
    order = np.lexsort((y, -score))
    hits = np.cumsum(y[order])
    precision = hits / np.arange(1, len(y) + 1)
    return float(precision[y[order] == 1].mean())


def roc_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Probability that a random positive outscores a random negative (ties count half).

    >>> roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.75
    """
    y, score = np.asarray(y), np.asarray(score)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


ALERT_BUDGET_CARDS = 100
"""Cards a fraud team reviews per day, by default: card precision and recall are read at this budget."""


def top_cards(cards: npt.ArrayLike, event_ms: npt.ArrayLike, score: npt.ArrayLike, y: npt.ArrayLike, k: int) -> pd.DataFrame:
    """Per UTC day and card: its highest score and whether it had a fraud; `top` marks the day's k highest cards."""
    frame = pd.DataFrame({"day": np.asarray(event_ms) // DAY_MS, "card": np.asarray(cards), "score": np.asarray(score),
                          "fraud": np.asarray(y)})
    per_card = frame.groupby(["day", "card"], sort=False).agg(score=("score", "max"), fraud=("fraud", "max")).reset_index()
    per_card = per_card.sort_values(["day", "score", "card"], ascending=[True, False, True], kind="stable")
    per_card["top"] = per_card.groupby("day").cumcount() < k
    return per_card


def card_precision_at_k(cards: npt.ArrayLike, event_ms: npt.ArrayLike, score: npt.ArrayLike, y: npt.ArrayLike,
                        k: int = ALERT_BUDGET_CARDS) -> pd.Series:
    """Per day, the share of compromised cards among the k cards scored highest that day.

    A team reviews cards, not transactions, and can review k a day: a card counts once,
    by its highest score. A day with fewer than k cards is judged on the cards it has.

    >>> card_precision_at_k(["a", "a", "b", "c"], [0, 1, 2, 3], [0.9, 0.2, 0.8, 0.1], [0, 1, 0, 1], k=2).tolist()
    [0.5]
    """
    top = top_cards(cards, event_ms, score, y, k)
    return top[top["top"]].groupby("day")["fraud"].mean()


def card_recall_at_k(cards: npt.ArrayLike, event_ms: npt.ArrayLike, score: npt.ArrayLike, y: npt.ArrayLike,
                     k: int = ALERT_BUDGET_CARDS) -> float:
    """The share of each day's compromised cards that were among its k highest, over all days.

    >>> card_recall_at_k(["a", "b", "c"], [0, 0, 0], [0.9, 0.8, 0.1], [1, 0, 1], k=2)
    0.5
    """
    top = top_cards(cards, event_ms, score, y, k)
    frauds = int(top["fraud"].sum())
    return float((top["fraud"] & top["top"]).sum() / frauds) if frauds else float("nan")


def money_caught_over_lost(amount: npt.ArrayLike, y: npt.ArrayLike, alert: npt.ArrayLike) -> float:
    """Fraud amount alerted on (caught) over fraud amount let through (lost): above 1, more is stopped than lost.

    >>> money_caught_over_lost([100.0, 50.0, 10.0], [1, 1, 0], [True, False, True])
    2.0
    """
    amount, fraud, alert = np.asarray(amount, dtype=float), np.asarray(y) == 1, np.asarray(alert, dtype=bool)
    lost = amount[fraud & ~alert].sum()
    caught = amount[fraud & alert].sum()
    return float(caught / lost) if lost else (float("inf") if caught else float("nan"))
