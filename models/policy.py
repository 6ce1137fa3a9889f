"""Decision policies: how a score becomes a decision, fixed as one threshold when the model is trained.

A fraud team does not think in probabilities but in what it can review and what fraud
costs. Each policy turns that into a threshold on validation data, stored with the
model, so the stream compares one number per transaction and never ranks:
- `fixed`: the threshold given;
- `budget`: about `alert_budget_cards_per_day` cards alerted a day (a card counts once,
  by its highest score): the median over validation days of each day's k-th card score;
- `cost`: the threshold that minimises missed fraud amount + `review_cost` per alert.

At serving, the model's stored rule decides unless the settings name a threshold to
override it (`scoring.override_threshold`); a model stored without one uses the fixed
threshold of the settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.metrics import ALERT_BUDGET_CARDS, top_cards

PolicyName = Literal["fixed", "budget", "cost"]
OVERRIDE = "override"


@dataclass(frozen=True)
class PolicySpec:
    """What the team asked for (`scoring.*` settings)."""

    policy: PolicyName = "fixed"
    threshold: float = 0.5
    alert_budget_cards_per_day: int = ALERT_BUDGET_CARDS
    review_cost: float = 5.0


FIXED = PolicySpec()
"""The default: a fixed threshold of 0.5."""


@dataclass(frozen=True)
class DecisionRule:
    """The stored outcome: the policy's name, its threshold, and what it was chosen from."""

    policy: str
    threshold: float
    chosen_on: dict[str, Any]

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)


def choose(spec: PolicySpec, frame: pd.DataFrame, score: np.ndarray) -> DecisionRule:
    """The threshold `spec` asks for, on validation rows (`cc_num`, `event_time`, `amount`, `is_fraud`) and their scores."""
    rows = {"rows": len(frame), "frauds": int(frame["is_fraud"].sum())}
    if spec.policy == "budget":
        k = spec.alert_budget_cards_per_day
        return DecisionRule("budget", _budget_threshold(frame, score, k), {**rows, "alert_budget_cards_per_day": k})
    if spec.policy == "cost":
        threshold = _cost_threshold(frame["amount"].to_numpy(float), frame["is_fraud"].to_numpy(), score, spec.review_cost)
        return DecisionRule("cost", threshold, {**rows, "review_cost": spec.review_cost})
    return DecisionRule("fixed", spec.threshold, rows)


def _budget_threshold(frame: pd.DataFrame, score: np.ndarray, k: int) -> float:
    """The median over days of the lowest card score among each day's k highest (all its cards on a smaller day)."""
    top = top_cards(frame["cc_num"].to_numpy(), frame["event_time"].to_numpy(), score, frame["is_fraud"].to_numpy(), k)
    return float(np.median(top[top["top"]].groupby("day")["score"].min()))


def _cost_threshold(amount: np.ndarray, fraud: np.ndarray, score: np.ndarray, review_cost: float) -> float:
    """Over every distinct score as a threshold: missed fraud amount + review cost per alert, lowest wins (then the highest threshold)."""
    order = np.argsort(-score, kind="stable")
    ranked, fraud_amount = score[order], np.where(fraud[order] == 1, amount[order], 0.0)
    all_fraud = fraud_amount.sum()  # the cost of alerting on nothing
    cost = (all_fraud - np.cumsum(fraud_amount)) + review_cost * np.arange(1, len(ranked) + 1)  # alerting on the top i+1
    candidates = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])  # a threshold alerts every row of its score
    best = candidates[np.argmin(cost[candidates])]
    return float(ranked[best]) if cost[best] < all_fraud else float(np.nextafter(ranked[0], np.inf))


def serving_rule(stored: dict[str, Any], override_threshold: float | None, default_threshold: float) -> tuple[str, float]:
    """(policy name, threshold) a stream decides with: an explicit override, else the model's rule, else the fixed default."""
    if override_threshold is not None:
        return OVERRIDE, override_threshold
    if stored:
        return str(stored["policy"]), float(stored["threshold"])
    return "fixed", default_threshold
