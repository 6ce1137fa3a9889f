"""Point-in-time-correct training sets from Feast's offline store.

A row is (transaction, its features as of that transaction, its label). Features
come through Feast's `get_historical_features`, joined on the transaction entity,
so a training set reads exactly what the backfill computed (or what the stream
served) for that transaction, even for a card's transactions in one millisecond,
where a join on (card, time) could pick the other one. Labels count only if known
by the cutoff: a label that arrived later is the future and stays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.featurestore.names import TIMESTAMP_FIELD, feature_view_name
from skewless.featurestore.store import offline_features_path, open_store, served_features_dir
from skewless.records import FEATURE_ROW_KEYS
from skewless.schema import normalise_labels, read_table
from udfs.features import TRANSACTION, feature_names
from udfs.validation import LABEL_RECORD

Source = Literal["backfill", "served"]
ROW_COLUMNS = FEATURE_ROW_KEYS
VIEWS: dict[Source, str] = {"backfill": feature_view_name(TRANSACTION), "served": "served_features"}


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame
    """ROW_COLUMNS, every feature, is_fraud, label_time; in (event_time, tx_id) order."""
    transactions: int
    unlabelled: int
    label_cutoff_ms: int


def _transactions(settings: Settings, source: Source, start_ms: int, end_ms: int) -> pd.DataFrame:
    path = offline_features_path(settings) if source == "backfill" else served_features_dir(settings)
    if not path.exists() or (path.is_dir() and not any(path.glob("*.parquet"))):
        what = "run `skewless backfill`" if source == "backfill" else "run the stream (`skewless stream`)"
        raise SkewlessError(f"no {source} features at {path}: {what} first")
    rows = pd.read_parquet(path, columns=[*ROW_COLUMNS, TIMESTAMP_FIELD])
    rows = rows[(rows["event_time"] >= start_ms) & (rows["event_time"] < end_ms)]
    return rows.drop_duplicates("tx_id")  # the served log is at-least-once


def build_dataset(
    settings: Settings, labels_path: Path, start_ms: int, end_ms: int, label_cutoff_ms: int,
    source: Source = "backfill",
) -> Dataset:
    """Transactions with start_ms <= event_time < end_ms that have a label known by `label_cutoff_ms`."""
    if end_ms <= start_ms:
        raise SkewlessError("--end must be after --start")
    entity_rows = _transactions(settings, source, start_ms, end_ms)
    if entity_rows.empty:
        raise SkewlessError(f"no {source} transactions between {_iso(start_ms)} and {_iso(end_ms)}")
    labels = normalise_labels(read_table(labels_path, kind=LABEL_RECORD), labels_path, entity_rows).rows
    view = VIEWS[source]
    joined = open_store(settings).get_historical_features(
        entity_df=entity_rows, features=[f"{view}:{name}" for name in feature_names()],
    ).to_df()
    known = labels.loc[labels["label_time"] <= label_cutoff_ms, ["tx_id", "is_fraud", "label_time"]]
    frame = joined.merge(known, on="tx_id", how="inner", validate="one_to_one")
    frame = frame[[*ROW_COLUMNS, *feature_names(), "is_fraud", "label_time"]]
    frame = frame.sort_values(["event_time", "tx_id"], kind="stable").reset_index(drop=True)
    return Dataset(frame, len(entity_rows), len(entity_rows) - len(frame), label_cutoff_ms)


def _iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()
