"""Backfill == stream, row by row, for every declared feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.drivers.parity import compare, run_parity, with_disorder
from skewless.synthetic.generator import Population, simulate
from udfs.units import DAY_MS


def _rows(**values):
    base = {"tx_id": ["t1", "t2"], "event_time": [1, 2], "f": [1.0, np.nan], "g": [3, 4]}
    base.update(values)
    return pd.DataFrame(base)


def test_compare_reports_each_kind_of_disagreement():
    assert compare(_rows(), _rows(), names=("f", "g")).ok  # NaN equals NaN
    report = compare(_rows(), _rows(f=[1.0, 0.5]), names=("f", "g"))
    assert [(d.tx_id, d.feature, d.stream) for d in report.differences] == [("t2", "f", 0.5)]
    missing = compare(_rows(), _rows().iloc[:1], names=("f", "g"))
    assert missing.missing_in_stream == ["t2"] and not missing.ok
    doubled = compare(_rows(), pd.concat([_rows(), _rows().iloc[:1]]), names=("f", "g"))
    assert doubled.duplicated_in_stream == ["t1"] and not doubled.ok


def test_disorder_stays_within_the_lateness():
    rows = pd.DataFrame({"tx_id": [f"t{i}" for i in range(2000)], "event_time": np.arange(2000) * 3})
    shuffled = with_disorder(rows, "event_time", lateness_ms=100, seed=1)
    assert shuffled["arrival"].is_monotonic_increasing
    assert not shuffled["event_time"].is_monotonic_increasing
    running_max = shuffled["event_time"].cummax()
    assert (running_max - shuffled["event_time"]).max() < 100


def _with_ties(tx: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Give a share of transactions their card's previous timestamp: same-millisecond pairs."""
    rng = np.random.default_rng(seed)
    previous = tx.groupby("cc_num")["event_time"].shift(1)
    tie = previous.notna() & (rng.random(len(tx)) < share)
    return tx.assign(event_time=np.where(tie, previous.fillna(0), tx["event_time"]).astype("int64"))


@pytest.mark.integration
def test_backfill_and_stream_give_identical_features(settings, broker, trained_model, tmp_path):
    """Ties, out-of-order arrival within the lateness and labels arriving within the window, all at once."""
    pop = Population.build(11, 120, 30)
    start = 1_767_225_600_000
    tx, labels = simulate(pop, 11, start, start + 2 * DAY_MS, 2_500)
    tx = _with_ties(tx, share=0.1, seed=4)
    rng = np.random.default_rng(5)  # labels within hours, so the 7-day label rates move
    labels = labels.assign(label_time=tx["event_time"].to_numpy() + rng.integers(1, 6 * 3_600_000, len(tx)))
    tx.to_parquet(tmp_path / "parity.parquet")
    labels.to_parquet(tmp_path / "labels.parquet")
    report = run_parity(settings, tmp_path / "parity.parquet", tmp_path / "labels.parquet", seed=3)
    assert report.transactions == len(tx)
    assert report.missing_in_stream == [] and report.duplicated_in_stream == []
    assert report.differences == [], report.differences[:10]
