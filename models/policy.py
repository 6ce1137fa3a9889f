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

from models.metrics import DAY_MS

PolicyName = Literal["fixed", "budget", "cost"]
OVERRIDE = "override"


@dataclass(frozen=True)
class PolicySpec:
    """What the team asked for (`scoring.*` settings)."""

    policy: PolicyName = "fixed"
    threshold: float = 0.5
    alert_budget_cards_per_day: int = 100
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
    cards = pd.DataFrame({"day": frame["event_time"].to_numpy() // DAY_MS, "card": frame["cc_num"].to_numpy(), "score": score})
    best = cards.groupby(["day", "card"])["score"].max().sort_values(ascending=False)
    kth = best.groupby(level="day").apply(lambda day: day.iloc[min(k, len(day)) - 1])
    return float(np.median(kth))


def _cost_threshold(amount: np.ndarray, fraud: np.ndarray, score: np.ndarray, review_cost: float) -> float:
    """Over every distinct score as a threshold: missed fraud amount + review cost per alert, lowest wins (then the highest threshold)."""
    order = np.argsort(-score, kind="stable")
    ranked, missed_if_alerted = score[order], np.where(fraud[order] == 1, amount[order], 0.0)
    caught = np.cumsum(missed_if_alerted)  # fraud amount alerted when the top i+1 rows are
    cost = (missed_if_alerted.sum() - caught) + review_cost * np.arange(1, len(ranked) + 1)
    last_of_score = np.r_[ranked[1:] != ranked[:-1], True]  # a threshold alerts every row of its score
    candidates = np.flatnonzero(last_of_score)
    nothing_alerted = missed_if_alerted.sum()
    best = candidates[np.argmin(cost[candidates])]
    return float(ranked[best]) if cost[best] < nothing_alerted else float(np.nextafter(ranked[0], np.inf))


def serving_rule(stored: dict[str, Any], override_threshold: float | None, default_threshold: float) -> tuple[str, float]:
    """(policy name, threshold) a stream decides with: an explicit override, else the model's rule, else the fixed default."""
    if override_threshold is not None:
        return OVERRIDE, override_threshold
    if stored:
        return str(stored["policy"]), float(stored["threshold"])
    return "fixed", default_threshold
