"""Continued training on freshly labelled, served transactions, behind a validation gate.

A candidate continues from the serving model (XGBoost warm start: `xgb_model=` adds
trees to the existing ones), with the parameters the serving model was trained or
chosen with, on recent labelled rows. Rows the serving model got wrong,
or got right by a hair (probability near the threshold), weigh more. The newest slice
is held out: the candidate is promoted only if its average precision there is not
worse than the serving model's by more than a tolerance, and never on a slice without
fraud, where average precision says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from models.metrics import average_precision
from models.scoring import input_matrix
from models.train import PARAMS_ATTR, params_of, training_matrix


@dataclass(frozen=True)
class UpdatePolicy:
    threshold: float = 0.5
    rounds: int = 20
    """Trees added per update."""
    max_trees: int = 600
    """Beyond this the model is not grown further: retrain from scratch (`skewless train`)."""
    misclassified_weight: float = 3.0
    margin: float = 0.1
    """|probability - threshold| below this counts as barely classified."""
    margin_weight: float = 2.0
    holdout_share: float = 0.3
    tolerance: float = 0.005
    """Average precision may drop by at most this (docs/evaluation.md: ~0.005)."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    candidate: xgb.Booster | None
    current_ap: float
    candidate_ap: float
    train_rows: int
    holdout_rows: int
    holdout_positives: int


def sample_weights(y: np.ndarray, p: np.ndarray, policy: UpdatePolicy) -> np.ndarray:
    """1 for most rows; more for rows the current model misclassifies or barely classifies."""
    weights = np.ones(len(y))
    wrong = (p >= policy.threshold) != (y == 1)
    weights[np.abs(p - policy.threshold) < policy.margin] = policy.margin_weight
    weights[wrong] = policy.misclassified_weight
    return weights


def propose(current: xgb.Booster, labelled: pd.DataFrame, policy: UpdatePolicy) -> Decision:
    """Train a candidate on the older part of `labelled` (features + is_fraud + event_time) and gate it on the newest."""
    frame = labelled.sort_values(["event_time", "tx_id"], kind="stable")
    split = int(len(frame) * (1 - policy.holdout_share))
    train, holdout = frame.iloc[:split], frame.iloc[split:]
    positives = int(holdout["is_fraud"].sum())
    held_out, held_out_y = input_matrix(holdout), holdout["is_fraud"].to_numpy()
    current_ap = average_precision(held_out_y, current.inplace_predict(held_out)) if positives else float("nan")

    def decline(reason: str) -> Decision:
        return Decision(False, reason, None, current_ap, float("nan"), len(train), len(holdout), positives)

    if current.num_boosted_rounds() + policy.rounds > policy.max_trees:
        return decline(f"the model has {current.num_boosted_rounds()} trees; over {policy.max_trees} retrain from scratch")
    if positives == 0 or train["is_fraud"].sum() == 0:
        return decline("no fraud in the training or the held-out slice: nothing to learn or to judge by")
    data = training_matrix(train)
    data.set_weight(sample_weights(train["is_fraud"].to_numpy(), current.predict(data), policy))
    params = params_of(current)
    candidate = xgb.train(params, data, num_boost_round=policy.rounds, xgb_model=current.copy())
    candidate.set_attr(**{PARAMS_ATTR: current.attr(PARAMS_ATTR)})
    candidate_ap = average_precision(held_out_y, candidate.inplace_predict(held_out))
    promote = candidate_ap >= current_ap - policy.tolerance
    reason = (f"candidate AP {candidate_ap:.4f} vs serving {current_ap:.4f} on the newest {len(holdout)} rows "
              f"({positives} fraud): {'promote' if promote else 'keep serving'} (tolerance {policy.tolerance})")
    return Decision(promote, reason, candidate if promote else None, current_ap, candidate_ap, len(train), len(holdout), positives)
