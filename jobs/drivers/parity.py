"""Backfill == stream: the same events through both jobs, compared row by row.

The stream side goes through the real broker and the real streaming job; events are
replayed with local disorder inside the allowed lateness, so the check also covers
out-of-order arrival. Values must be equal exactly (both are the same operators on
the same rows), with null equal to null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.backfill import compute_features, stage_history
from jobs.drivers.finite_run import run_finite_stream
from skewless.config import Settings
from skewless.messaging.topics import read_json
from udfs.features import feature_names

DISORDER_SHARE = 0.9
"""Replayed events arrive up to this share of the allowed lateness behind later ones."""


@dataclass(frozen=True)
class Difference:
    tx_id: str
    feature: str
    backfill: object
    stream: object


@dataclass(frozen=True)
class ParityReport:
    transactions: int
    compared: int
    missing_in_stream: list[str] = field(default_factory=list)
    duplicated_in_stream: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_in_stream or self.duplicated_in_stream or self.differences)


def with_disorder(rows: pd.DataFrame, time_column: str, lateness_ms: int, seed: int) -> pd.DataFrame:
    """The rows in an `arrival` order where each may trail later ones by < the lateness."""
    rng = np.random.default_rng(seed)
    arrival = rows[time_column].to_numpy() + rng.uniform(0, DISORDER_SHARE * lateness_ms, len(rows))
    return rows.assign(arrival=arrival).sort_values("arrival", kind="stable").reset_index(drop=True)


def _equal(a: object, b: object) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    return a_null and b_null or (not a_null and not b_null and a == b)


def compare(backfill: pd.DataFrame, streamed: pd.DataFrame, names: tuple[str, ...] = feature_names()) -> ParityReport:
    """Row by row on tx_id, every feature, exact."""
    counts = streamed["tx_id"].value_counts()
    duplicated = sorted(counts[counts > 1].index)
    stream_rows = streamed.drop_duplicates("tx_id").set_index("tx_id")
    missing = sorted(set(backfill["tx_id"]) - set(stream_rows.index))
    differences = []
    both = backfill[backfill["tx_id"].isin(stream_rows.index)]
    for row in both.itertuples(index=False):
        streamed_row = stream_rows.loc[row.tx_id]
        for name in names:
            ours, theirs = getattr(row, name), streamed_row[name]
            if not _equal(ours, theirs):
                differences.append(Difference(row.tx_id, name, ours, theirs))
    return ParityReport(len(backfill), len(both), missing, duplicated, differences)


def run_parity(
    settings: Settings, history: Path, labels: Path | None = None, limit: int | None = None, seed: int = 0,
) -> ParityReport:
    """Backfill `history` and its labels (the first `limit` transactions by time) and stream the same events."""
    staged = stage_history(settings, history, labels, limit)
    backfill = compute_features(settings, staged).features
    lateness = settings.features.allowed_lateness_ms
    transactions = with_disorder(staged.rows, "event_time", lateness, seed)
    label_rows = with_disorder(staged.labels, "label_time", lateness, seed + 1)
    run = run_finite_stream(settings, transactions, label_rows, send=lambda p: p.replay(transactions, label_rows))
    wanted = set(transactions["tx_id"])
    scores = read_json(settings, settings.topics.scores, from_offsets=run.outputs_from[settings.topics.scores],
                       expect=len(wanted), idle_timeout_s=20)
    return compare(backfill, pd.DataFrame([r for r in scores if r["tx_id"] in wanted]))
