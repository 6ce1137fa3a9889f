"""The names skewless and `feature_repo/` share: files, folders, fields and views. Nothing here runs anything."""

from __future__ import annotations

from udfs.features import Entity

OFFLINE_FROM_REPO = "../data/offline"
"""The offline files' folder relative to the Feast repo, as the paths in its feature_store.yaml are: Feast resolves both there."""
OFFLINE_FEATURES_FILE = "transaction_features.parquet"
SERVED_FEATURES_DIR = "served"
"""Parquet parts the streaming job appends: the features it scored with, one row per transaction."""
TIMESTAMP_FIELD = "event_timestamp"


def feature_view_name(entity: Entity) -> str:
    return f"{entity.name}_features"
