"""Backfill: a bounded history file -> the shared feature query -> Feast's offline store."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jobs.feature_sql import feature_query
from jobs.flink_env import create_table_env
from jobs.sources import bind_history
from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.feast_store import write_offline
from skewless.schema import normalise_transactions, read_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillResult:
    rows_in: int
    rows_rejected: int
    rows_out: int
    seconds: float
    offline_path: Path
    rejected_path: Path | None


@dataclass(frozen=True)
class Staged:
    path: Path
    rows: pd.DataFrame
    rows_read: int
    rejected_path: Path | None


def stage_history(settings: Settings, history: Path, limit: int | None = None) -> Staged:
    """Normalise any history file into the CSV the Flink source reads; set bad rows aside.

    `limit` keeps the first transactions by time (a quick parity check on a big file).
    """
    raw = read_table(history)
    normalised = normalise_transactions(raw, history)
    rows = normalised.rows if limit is None else normalised.rows.head(limit)
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    staged = settings.staging_dir / "history.csv"
    rows.to_csv(staged, index=False, header=False, na_rep="")
    rejected_path = None
    if len(normalised.rejected):
        rejected_path = settings.data_dir / "rejected" / f"{history.stem}.rejected.csv"
        rejected_path.parent.mkdir(parents=True, exist_ok=True)
        normalised.rejected.to_csv(rejected_path, index=False)
        log.warning("rows set aside", extra={"count": len(normalised.rejected), "file": str(rejected_path)})
    return Staged(staged, rows, len(raw), rejected_path)


def compute_features(settings: Settings, staged_csv: Path) -> pd.DataFrame:
    """Run the feature query over the staged history; one row per transaction."""
    t_env = create_table_env(settings, "throughput")
    bind_history(t_env, settings, staged_csv)
    features = t_env.sql_query(feature_query()).to_pandas()
    return features.sort_values(["event_time", "tx_id"], kind="stable").reset_index(drop=True)


def run_backfill(settings: Settings, history: Path) -> BackfillResult:
    started = time.monotonic()
    staged = stage_history(settings, history)
    features = compute_features(settings, staged.path)
    accepted = len(staged.rows)
    if len(features) != accepted:
        raise SkewlessError(
            f"backfill produced {len(features)} feature rows for {accepted} accepted transactions"
        )
    path = write_offline(settings, features)
    return BackfillResult(
        staged.rows_read, staged.rows_read - accepted, len(features), time.monotonic() - started, path, staged.rejected_path,
    )
