"""The frozen-vs-updating replay behind `skewless evaluate`, on features from the pandas reference (no Flink)."""

import pandas as pd
import pytest

import models.replay as replay_module
from bench.pandas_features import compute
from models.online import UpdatePolicy
from models.replay import FROZEN, UPDATING, replay
from models.train import fit
from skewless.synthetic.generator import Drift, LabelDelays, Population, simulate
from udfs.units import DAY_MS

START = 1_767_225_600_000
TRAIN_DAYS, DAYS = 14, 14


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    pop = Population.build(11, 1_500, 300)
    begin = START + TRAIN_DAYS * DAY_MS
    tx, labels = simulate(pop, 11, START, begin + DAYS * DAY_MS, 1_500 * 2 * (TRAIN_DAYS + DAYS),
                          drift=Drift(begin + DAYS // 2 * DAY_MS), label_delays=LabelDelays(DAY_MS, DAY_MS))
    return compute(tx, labels).merge(labels[["tx_id", "is_fraud", "label_time"]], on="tx_id")


def _run(world: pd.DataFrame, policy: UpdatePolicy | None = None) -> pd.DataFrame:
    begin = START + TRAIN_DAYS * DAY_MS
    initial = fit(world[(world["event_time"] < begin) & (world["label_time"] < begin)])
    results = replay(initial, world, begin, begin + DAYS * DAY_MS, DAY_MS, 7 * DAY_MS, policy or UpdatePolicy())
    return pd.DataFrame([vars(r) for r in results])


def test_updating_model_learns_the_new_pattern_and_the_frozen_one_does_not_change(world):
    results = _run(world)
    frozen, updating = results[results["model"] == FROZEN], results[results["model"] == UPDATING]
    assert len(frozen) == len(updating) == DAYS
    assert frozen["trees"].nunique() == 1 and not frozen["promoted"].any()
    replayed = world[world["event_time"] >= START + TRAIN_DAYS * DAY_MS]
    assert frozen["rows"].sum() == updating["rows"].sum() == len(replayed)
    assert updating["promoted"].sum() >= 3
    last_week = slice(DAYS - 4, DAYS)
    gain = updating["average_precision"].to_numpy()[last_week].mean() - frozen["average_precision"].to_numpy()[last_week].mean()
    recall_gain = updating["recall"].to_numpy()[last_week].mean() - frozen["recall"].to_numpy()[last_week].mean()
    assert gain > 0.15 and recall_gain > 0.3, (gain, recall_gain)


def test_an_update_sees_only_labels_known_before_its_slice(world, monkeypatch):
    seen = []
    real = replay_module.propose

    def spy(current, labelled, policy):
        seen.append(labelled)
        return real(current, labelled, policy)

    monkeypatch.setattr(replay_module, "propose", spy)
    _run(world)
    assert len(seen) == DAYS - 1
    for day, labelled in enumerate(seen, start=1):
        begin = START + (TRAIN_DAYS + day) * DAY_MS
        assert labelled["label_time"].max() < begin and labelled["event_time"].max() < begin
        assert labelled["event_time"].min() >= begin - 7 * DAY_MS


def test_a_closed_gate_keeps_the_initial_model(world):
    results = _run(world, UpdatePolicy(max_trees=150))
    assert results["trees"].nunique() == 1 and not results["promoted"].any()
