"""Time-aware model selection: rolling folds over the training window, a label-delay gap, a small random search.

A random split, or folds that ignore time, let a model learn from a card's future and
from labels nobody had yet: the chosen parameters then fit the leak, not fraud. Each
fold here validates on days that follow its training rows, trained only on rows whose
label was known when the validation days began, and leaves a gap of the fraud label
delay between the two, as a model retrained in production would see them.

Validation days end where the window's labels are complete. A training set holds the
transactions whose label was known by its cutoff; a chargeback comes in days, a
legitimate transaction is confirmed only after its clearance period (a week in the
generator), so the last days of a window hold nearly only fraud. Scored there, every
candidate looks brilliant.

Candidates are drawn from a small space with a fixed seed; the first candidate is always
the default parameters, so the search can only keep or beat them on the folds. Trees
are chosen per fold by early stopping on the fold's validation days, and the final
model is trained on the whole window with the mean of those counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from models.metrics import average_precision
from skewless.errors import SkewlessError
from udfs.units import DAY_MS

SPACE: dict[str, tuple[Any, ...]] = {
    "max_depth": (3, 4, 5, 6, 8),
    "eta": (0.03, 0.05, 0.1, 0.2),
    "min_child_weight": (1, 2, 5, 10),
    "scale_pos_weight": (1.0, 3.0, 10.0),
    "colsample_bytree": (0.6, 0.8, 0.9, 1.0),
}
"""What `--search` draws from; the rest of the parameters stay the defaults."""
MAX_ROUNDS = 600
VALID_DAYS = 2.0
"""Days each fold validates on: a day holds too few frauds to tell candidates apart."""
EARLY_STOPPING = 30


@dataclass(frozen=True)
class Fold:
    train_end_ms: int
    """Training rows happened before this, and their labels were known by `valid_start_ms`."""
    valid_start_ms: int
    valid_end_ms: int


@dataclass(frozen=True)
class Candidate:
    params: dict[str, Any]
    fold_ap: list[float]
    fold_rounds: list[int]

    @property
    def mean_ap(self) -> float:
        return float(np.mean(self.fold_ap))


@dataclass(frozen=True)
class SearchResult:
    params: dict[str, Any]
    rounds: int
    folds: list[Fold]
    gap_ms: int
    candidates: list[Candidate]
    chosen: int

    def to_meta(self) -> dict[str, Any]:
        """What the registry stores: the space, the folds, every candidate's fold scores, the choice."""
        return {
            "space": {k: list(v) for k, v in SPACE.items()}, "gap_ms": self.gap_ms,
            "folds": [asdict(f) for f in self.folds], "chosen": self.chosen,
            "candidates": [{"params": c.params, "fold_ap": c.fold_ap, "fold_rounds": c.fold_rounds, "mean_ap": c.mean_ap}
                           for c in self.candidates],
        }


def label_delay_ms(frame: pd.DataFrame) -> int:
    """The median time from a fraud to its chargeback in the window: the gap between a fold's training rows and its validation."""
    fraud = frame[frame["is_fraud"] == 1]
    if fraud.empty:
        raise SkewlessError("the training window holds no fraud: nothing to search on")
    return int((fraud["label_time"] - fraud["event_time"]).median())


def labels_complete_until(frame: pd.DataFrame) -> int:
    """The event time up to which (nearly) every transaction's label was known by the cutoff: 99% of labels take less."""
    delays = frame["label_time"] - frame["event_time"]
    return min(int(frame["event_time"].max()) + 1, int(frame["label_time"].max() - delays.quantile(0.99)))


def rolling_folds(frame: pd.DataFrame, folds: int, gap_ms: int, valid_days: float = VALID_DAYS) -> list[Fold]:
    """`folds` consecutive validation spans of `valid_days`, the last ending where labels are complete, each after a gap."""
    start, end = int(frame["event_time"].min()), labels_complete_until(frame)
    days = (int(frame["event_time"].max()) - start) / DAY_MS
    span = int(valid_days * DAY_MS)
    result = []
    for k in range(folds, 0, -1):
        valid_start = end - k * span
        result.append(Fold(valid_start - gap_ms, valid_start, valid_start + span))
    if result[0].train_end_ms - start < 2 * span:
        complete = (end - start) / DAY_MS
        raise SkewlessError(f"a {days:.1f}-day window ({complete:.1f} days with complete labels) is too short for {folds} "
                            f"folds of {valid_days:g} day after a {gap_ms / DAY_MS:.1f}-day label gap: "
                            "generate or select more days, or use fewer folds")
    return result


def _draw(n: int, seed: int, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    drawn = [dict(defaults)]
    while len(drawn) < n:
        params = dict(defaults) | {k: v[rng.integers(len(v))] for k, v in SPACE.items()}
        params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
        if params not in drawn:
            drawn.append(params)
    return drawn


def search(frame: pd.DataFrame, matrix, defaults: dict[str, Any], n: int, folds: int = 3, seed: int = 0,
           valid_days: float = VALID_DAYS) -> SearchResult:
    """`n` candidates (the defaults first) scored by mean average precision over rolling folds.

    `matrix(rows)` turns labelled rows into an `xgb.DMatrix` (the trainer's own, so the
    search sees exactly the inputs the model will).
    """
    if n < 1:
        raise SkewlessError("--search takes the number of candidates to try, 1 or more")
    gap = label_delay_ms(frame)
    plan = rolling_folds(frame, folds, gap, valid_days)
    splits = []
    for fold in plan:
        train = frame[(frame["event_time"] < fold.train_end_ms) & (frame["label_time"] < fold.valid_start_ms)]
        valid = frame[(frame["event_time"] >= fold.valid_start_ms) & (frame["event_time"] < fold.valid_end_ms)]
        if train["is_fraud"].sum() == 0 or valid["is_fraud"].sum() == 0:
            raise SkewlessError(f"a fold from {pd.Timestamp(fold.valid_start_ms, unit='ms')} has no fraud to learn or judge by: "
                                "use a longer window or fewer folds")
        splits.append((matrix(train), matrix(valid), valid["is_fraud"].to_numpy()))
    candidates = []
    for params in _draw(n, seed, defaults):
        aps, rounds = [], []
        for dtrain, dvalid, y in splits:
            booster = xgb.train(params, dtrain, num_boost_round=MAX_ROUNDS, evals=[(dvalid, "valid")],
                                early_stopping_rounds=EARLY_STOPPING, verbose_eval=False)
            best = booster.best_iteration + 1
            aps.append(average_precision(y, booster.predict(dvalid, iteration_range=(0, best))))
            rounds.append(best)
        candidates.append(Candidate(params, aps, rounds))
    chosen = int(np.argmax([c.mean_ap for c in candidates]))
    best = candidates[chosen]
    return SearchResult(best.params, int(round(np.mean(best.fold_rounds))), plan, gap, candidates, chosen)
