"""`skewless train --search`: rolling time folds with a label-delay gap, candidates scored on them, the choice kept (no Flink)."""

import pandas as pd
import pytest

from bench.pandas_features import compute
from models.online import UpdatePolicy, propose
from models.registry import Registry
from models.search import label_delay_ms, labels_complete_until, rolling_folds, search
from models.train import PARAMS, TrainingSet, params_of, train, training_matrix
from skewless.errors import SkewlessError
from skewless.synthetic.generator import Population, simulate
from udfs.units import DAY_MS

START = 1_767_225_600_000
DAYS = 21


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    pop = Population.build(5, 1_500, 300)
    tx, labels = simulate(pop, 5, START, START + DAYS * DAY_MS, 1_500 * 2 * DAYS)
    rows = compute(tx, labels).merge(labels[["tx_id", "is_fraud", "label_time"]], on="tx_id")
    return rows.sort_values(["event_time", "tx_id"]).reset_index(drop=True)


def test_each_fold_trains_only_on_what_was_known_before_its_validation_days(frame):
    seen = []

    def matrix(rows):
        seen.append(rows)
        return training_matrix(rows)

    result = search(frame, matrix, PARAMS, n=2, folds=3)
    gap = label_delay_ms(frame)
    fraud = frame[frame["is_fraud"] == 1]
    assert gap == int((fraud["label_time"] - fraud["event_time"]).median()) > 0
    assert len(result.folds) == 3 and len(seen) == 6  # (train, validation) per fold, built once for every candidate
    for fold, (trained, validated) in zip(result.folds, zip(seen[::2], seen[1::2], strict=True), strict=True):
        assert fold.train_end_ms == fold.valid_start_ms - gap
        assert fold.valid_end_ms - fold.valid_start_ms == 2 * DAY_MS
        assert trained["event_time"].max() < fold.train_end_ms and trained["label_time"].max() < fold.valid_start_ms
        assert validated["event_time"].min() >= fold.valid_start_ms and validated["event_time"].max() < fold.valid_end_ms
    ends = [f.valid_end_ms for f in result.folds]
    assert ends == sorted(ends) and ends[-1] == labels_complete_until(frame)


def test_validation_days_end_where_the_windows_labels_are_complete(frame):
    """A set cut at day 21 lacks the legitimate transactions of its last week (confirmed after 7 days): no fold scores there."""
    cutoff = START + DAYS * DAY_MS
    known = frame[frame["label_time"] < cutoff]
    complete = labels_complete_until(known)
    assert cutoff - 8 * DAY_MS < complete < cutoff - 6 * DAY_MS
    after = known[known["event_time"] >= complete]
    assert after["is_fraud"].mean() > 5 * known.loc[known["event_time"] < complete, "is_fraud"].mean()
    assert all(f.valid_end_ms <= complete for f in rolling_folds(known, 3, label_delay_ms(known)))


def test_the_defaults_are_a_candidate_and_the_choice_is_the_best_on_the_folds(frame):
    result = search(frame, training_matrix, PARAMS, n=4, folds=2)
    assert result.candidates[0].params == PARAMS
    assert len({tuple(sorted(c.params.items())) for c in result.candidates}) == 4
    assert result.candidates[result.chosen].mean_ap == max(c.mean_ap for c in result.candidates)
    assert result.params == result.candidates[result.chosen].params
    assert 1 <= result.rounds <= 600


def test_the_registry_keeps_the_search_and_warm_starts_keep_the_chosen_parameters(frame, tmp_path):
    meta = train(TrainingSet(frame, int(frame["label_time"].max())), tmp_path, search_candidates=3, folds=2)
    searched = meta.training["search"]
    chosen = searched["candidates"][searched["chosen"]]
    assert meta.training["params"] == chosen["params"] and len(searched["candidates"]) == 3
    assert set(searched["space"]) >= {"max_depth", "eta", "min_child_weight", "scale_pos_weight"}
    assert all(len(c["fold_ap"]) == 2 for c in searched["candidates"])
    booster = Registry(tmp_path).load(meta.version)[0]
    assert params_of(booster) == chosen["params"]
    recent = frame[frame["event_time"] >= frame["event_time"].max() - 7 * DAY_MS]
    decision = propose(booster, recent, UpdatePolicy(tolerance=1.0))
    assert decision.promote and params_of(decision.candidate) == chosen["params"]


def test_a_window_too_short_for_the_folds_is_refused_with_what_to_do(frame):
    short = frame[frame["event_time"] < START + 5 * DAY_MS]
    with pytest.raises(SkewlessError, match="too short for 3 folds"):
        rolling_folds(short, 3, label_delay_ms(frame))
