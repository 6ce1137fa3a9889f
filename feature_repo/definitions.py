"""Feast objects derived from `udfs.features`: no feature is named or typed here.

One feature view per entity, all reading the offline table the backfill writes (one
row per transaction, with every feature as of that transaction).
"""

import os
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

from skewless.feast_store import OFFLINE_FEATURES_FILE, feature_view_name
from udfs.features import ENTITIES, features_of

DATA_DIR = Path(os.environ.get("SKEWLESS_DATA_DIR", Path(__file__).resolve().parent.parent / "data")).resolve()
FEAST_TYPES = {"float64": Float64, "int64": Int64}

transaction_features = FileSource(
    name="transaction_features",
    path=str(DATA_DIR / "offline" / OFFLINE_FEATURES_FILE),
    timestamp_field="event_timestamp",
    description="One row per transaction, written by the skewless backfill job",
)

_objects = {}
for _entity in ENTITIES:
    _features = features_of(_entity)
    if not _features:
        continue
    _feast_entity = Entity(name=_entity.name, join_keys=[_entity.key], value_type=ValueType.STRING,
                           description=_entity.description)
    _objects[_entity.name] = _feast_entity
    _objects[feature_view_name(_entity)] = FeatureView(
        name=feature_view_name(_entity),
        entities=[_feast_entity],
        ttl=timedelta(days=30),
        schema=[Field(name=f.name, dtype=FEAST_TYPES[f.dtype], description=f.description) for f in _features],
        source=transaction_features,
        online=True,
    )
globals().update(_objects)
