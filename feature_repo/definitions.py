"""Feast objects derived from `udfs.features`: no feature is named or typed here.

Per entity (card, merchant), a view for online serving: the newest values of the
entity's features. Per transaction, two offline-only views with every feature as of
that transaction, for exact training sets (`skewless dataset`):
- `transaction_features` reads the table the backfill writes;
- `served_features` reads the log the streaming job appends: the values it scored with.
"""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

from skewless.featurestore.names import OFFLINE_FEATURES_FILE, OFFLINE_FROM_REPO, SERVED_FEATURES_DIR, TIMESTAMP_FIELD, feature_view_name
from udfs.features import ENTITIES, FEATURES, TRANSACTION, features_of

FEAST_TYPES = {"float64": Float64, "int64": Int64}
TTL = timedelta(days=30)

feature_rows = FileSource(
    name="feature_rows",
    path=f"{OFFLINE_FROM_REPO}/{OFFLINE_FEATURES_FILE}",
    timestamp_field=TIMESTAMP_FIELD,
    description="One row per transaction, written by the skewless backfill job",
)
served_rows = FileSource(
    name="served_rows",
    path=f"{OFFLINE_FROM_REPO}/{SERVED_FEATURES_DIR}",
    timestamp_field=TIMESTAMP_FIELD,
    description="One row per scored transaction, appended by the skewless streaming job",
)


def _fields(features) -> list[Field]:
    return [Field(name=f.name, dtype=FEAST_TYPES[f.dtype], description=f.description) for f in features]


def _entity(entity) -> Entity:
    return Entity(name=entity.name, join_keys=[entity.key], value_type=ValueType.STRING, description=entity.description)


_objects = {}
for _declared in ENTITIES:
    if features_of(_declared):
        _objects[_declared.name] = _entity(_declared)
        _objects[feature_view_name(_declared)] = FeatureView(
            name=feature_view_name(_declared), entities=[_objects[_declared.name]], ttl=TTL,
            schema=_fields(features_of(_declared)), source=feature_rows, online=True,
        )
transaction = _entity(TRANSACTION)
transaction_features = FeatureView(
    name=feature_view_name(TRANSACTION), entities=[transaction], ttl=TTL, schema=_fields(FEATURES),
    source=feature_rows, online=False,
)
served_features = FeatureView(
    name="served_features", entities=[transaction], ttl=TTL, schema=_fields(FEATURES), source=served_rows, online=False,
)
globals().update(_objects)
