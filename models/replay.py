"""Frozen versus continuously updated: the same days replayed for both, labels revealed as they arrive.

Prequential evaluation (docs/evaluation.md): each slice of time is scored before any of its
labels are known. At the end of a slice the updating model is offered the labels that
had arrived by then, for the transactions of the recent window, and proposes a
warm-started candidate through the same gate the live learner uses
(`models.online.propose`). The frozen model never changes. Both are scored on every
slice, so the difference is the value of updating and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from models.metrics import average_precision, card_precision_at_k
from models.online import UpdatePolicy, propose
from models.scoring import input_matrix

FROZEN, UPDATING = "frozen", "updating"


@dataclass(frozen=True)
class SliceResult:
    start_ms: int
    model: str
    rows: int
    positives: int
    average_precision: float
    recall: float
    """Share of the slice's fraud at or above the threshold."""
    precision: float
    """Share of the alerts (at or above the threshold) that are fraud."""
    card_precision: float
    """Share of compromised cards among the slice's `ALERT_BUDGET_CARDS` highest-scored (mean per day)."""
    trees: int
    promoted: bool
    """An update was promoted just before this slice (always False for the frozen model)."""


def _judge(model: str, booster: xgb.Booster, rows: pd.DataFrame, start_ms: int, threshold: float, promoted: bool) -> SliceResult:
    y = rows["is_fraud"].to_numpy()
    score = booster.inplace_predict(input_matrix(rows)) if len(rows) else np.empty(0)
    alert = score >= threshold
    hits = int((alert & (y == 1)).sum())
    return SliceResult(
        start_ms, model, len(rows), int(y.sum()), average_precision(y, score),
        hits / y.sum() if y.sum() else float("nan"), hits / alert.sum() if alert.sum() else float("nan"),
        float(card_precision_at_k(rows["cc_num"], rows["event_time"], score, y).mean()),  # an empty slice: NaN
        booster.num_boosted_rounds(), promoted,
    )


def replay(
    initial: xgb.Booster, frame: pd.DataFrame, start_ms: int, end_ms: int, slice_ms: int, window_ms: int,
    policy: UpdatePolicy,
) -> list[SliceResult]:
    """Score [start_ms, end_ms) slice by slice with both models; update one between slices.

    `frame` holds every transaction with its model inputs, `event_time`, `tx_id`,
    `is_fraud` and `label_time` (when the label became known).
    """
    results: list[SliceResult] = []
    updating = initial
    for begin in range(start_ms, end_ms, slice_ms):
        promoted = False
        if begin > start_ms:
            known = frame[(frame["event_time"] >= begin - window_ms) & (frame["event_time"] < begin)
                          & (frame["label_time"] < begin)]
            decision = propose(updating, known, policy)
            if decision.promote:
                updating, promoted = decision.candidate, True
        rows = frame[(frame["event_time"] >= begin) & (frame["event_time"] < min(begin + slice_ms, end_ms))]
        results.append(_judge(FROZEN, initial, rows, begin, policy.threshold, False))
        results.append(_judge(UPDATING, updating, rows, begin, policy.threshold, promoted))
    return results
