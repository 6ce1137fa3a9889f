"""Train an XGBoost fraud model on backfilled features joined with labels.

The split is by time (train on the earlier part, test on the later), never random:
a random split lets the model see a card's future, which flatters every metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xgboost as xgb

from models.drift import reference_of
from models.metrics import (
    ALERT_BUDGET_CARDS,
    average_precision,
    card_precision_at_k,
    card_recall_at_k,
    money_caught_over_lost,
    roc_auc,
)
from models.policy import FIXED, PolicySpec, choose
from models.registry import ModelMeta, Registry
from models.scoring import input_matrix
from models.search import search
from skewless.errors import SkewlessError
from udfs.features import model_inputs

PARAMS = {
    "objective": "binary:logistic", "eval_metric": "aucpr", "tree_method": "hist",
    "max_depth": 5, "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.9,
    "min_child_weight": 2, "nthread": 2, "seed": 0,
}
ROUNDS = 150
TEST_SHARE = 0.2


@dataclass(frozen=True)
class TrainingSet:
    frame: pd.DataFrame
    """Model inputs, `is_fraud` and `event_time`, in time order (a `skewless dataset`)."""
    label_cutoff_ms: int


def training_matrix(frame: pd.DataFrame) -> xgb.DMatrix:
    """Model inputs and `is_fraud` labels, named, for `xgb.train`."""
    return xgb.DMatrix(input_matrix(frame), label=frame["is_fraud"], feature_names=list(model_inputs()))


def evaluate(booster: xgb.Booster, frame: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Ranking metrics, and what a fraud team reads: cards it would review per day, money stopped against money lost.

    `frame` holds the model inputs, `is_fraud`, `cc_num` and `event_time`; the threshold
    decides the alerts money is counted on.
    """
    score = booster.inplace_predict(input_matrix(frame))
    y = frame["is_fraud"].to_numpy()
    cards, times = frame["cc_num"].to_numpy(), frame["event_time"].to_numpy()
    return {
        "average_precision": average_precision(y, score), "roc_auc": roc_auc(y, score),
        f"card_precision_at_{ALERT_BUDGET_CARDS}_per_day": float(card_precision_at_k(cards, times, score, y).mean()),
        f"card_recall_at_{ALERT_BUDGET_CARDS}_per_day": card_recall_at_k(cards, times, score, y),
        "fraud_amount_caught_over_lost": money_caught_over_lost(frame["amount"], y, score >= threshold),
        "threshold": threshold, "rows": float(len(y)), "positives": float(y.sum()),
    }


PARAMS_ATTR = "skewless_params"


def params_of(booster: xgb.Booster) -> dict[str, Any]:
    """The parameters a model was trained with (stored in the model file): warm starts continue with them."""
    stored = booster.attr(PARAMS_ATTR)
    return json.loads(stored) if stored else PARAMS


def fit(frame: pd.DataFrame, params: dict[str, Any] = PARAMS, rounds: int = ROUNDS) -> xgb.Booster:
    """A model from scratch on labelled rows (model inputs + `is_fraud`)."""
    if frame["is_fraud"].sum() == 0:
        raise SkewlessError(f"the training window holds no fraud among {len(frame)} rows: use a longer history")
    booster = xgb.train(params, training_matrix(frame), num_boost_round=rounds)
    booster.set_attr(**{PARAMS_ATTR: json.dumps(params)})
    return booster


def train(
    data: TrainingSet, registry_root: Path, search_candidates: int = 0, folds: int = 3, policy: PolicySpec = FIXED,
) -> ModelMeta:
    """Fit on the earlier rows, test on the later ones; with `search_candidates`, choose the parameters first (`models.search`).

    The decision threshold comes from `policy` on the earlier half of the test rows (the
    days right after training, as a team would calibrate), and is stored with the model,
    as is the reference the stream measures drift against (`models.drift`).
    """
    frame = data.frame
    if frame.empty:
        raise SkewlessError("the training set is empty: no transaction has features and a label known by the cutoff")
    split = int(len(frame) * (1 - TEST_SHARE))
    train_part, test_part = frame.iloc[:split], frame.iloc[split:]
    params, rounds, searched = PARAMS, ROUNDS, None
    if search_candidates:
        result = search(train_part, training_matrix, PARAMS, search_candidates, folds)
        params, rounds, searched = result.params, result.rounds, result.to_meta()
    booster = fit(train_part, params, rounds)
    training = {
        "window_start_ms": int(train_part["event_time"].min()), "window_end_ms": int(train_part["event_time"].max()),
        "label_cutoff_ms": data.label_cutoff_ms, "rows": len(train_part),
        "positives": int(train_part["is_fraud"].sum()), "params": params, "rounds": rounds,
    }
    if searched:
        training["search"] = searched
    validation = test_part.iloc[: len(test_part) // 2]
    rule = choose(policy, validation, booster.inplace_predict(input_matrix(validation)))
    metrics = evaluate(booster, test_part, rule.threshold)
    reference = reference_of(train_part, booster.inplace_predict(input_matrix(train_part)))
    return Registry(registry_root).save(booster, list(model_inputs()), training, metrics, decision=rule.to_meta(),
                                        reference=reference)
