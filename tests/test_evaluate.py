"""`skewless evaluate` end to end: features from the real Flink backfill, both models replayed, files written."""

import json

import numpy as np
import pandas as pd
import pytest

from bench.pandas_features import compute
from jobs.drivers.evaluation import WORLD_START_MS, Scenario
from models.online import UpdatePolicy
from models.replay import FROZEN, UPDATING, replay
from models.train import fit
from tests.cli_helpers import invoke

pytestmark = pytest.mark.integration

ARGS = ("--cards", "400", "--train-days", "10", "--days", "6", "--seed", "5")


def test_evaluate_writes_table_plot_and_metrics_equal_to_a_replay_on_reference_features(settings, tmp_path):
    output = invoke(settings, "evaluate", *ARGS, "--out", str(tmp_path))
    assert "after the shift" in output and "before the shift" in output
    assert (tmp_path / "evaluate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    slices = pd.read_csv(tmp_path / "slices.csv")
    assert len(slices) == 6 and slices["after_shift"].sum() == 3
    assert slices[f"trees_{FROZEN}"].nunique() == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {row["metric"] for row in summary["summary"]} == {"average precision", "recall", "precision", "card precision@100"}
    assert slices[f"card_precision_{FROZEN}"].between(0, 1).all() and slices[f"card_precision_{UPDATING}"].between(0, 1).all()

    scenario = Scenario(cards=400, train_days=10, days=6, seed=5)
    world = settings.data_dir / "evaluate" / "world"
    tx, labels = pd.read_parquet(world / "transactions.parquet"), pd.read_parquet(world / "labels.parquet")
    tx["event_time"] = tx["event_time"].astype("int64") // 10**6
    labels["label_time"] = labels["label_time"].astype("int64") // 10**6
    assert tx["event_time"].min() >= WORLD_START_MS
    frame = compute(tx, labels).merge(labels[["tx_id", "is_fraud", "label_time"]], on="tx_id")
    initial = fit(frame[(frame["event_time"] < scenario.start_ms) & (frame["label_time"] < scenario.start_ms)])
    expected = pd.DataFrame([vars(r) for r in replay(
        initial, frame, scenario.start_ms, scenario.end_ms, scenario.slice_ms, scenario.window_ms, UpdatePolicy())])
    for model in (FROZEN, UPDATING):
        mine = expected[expected["model"] == model]
        for metric in ("average_precision", "recall", "card_precision"):
            np.testing.assert_allclose(slices[f"{metric}_{model}"], mine[metric], atol=1e-6, err_msg=f"{metric} {model}")
