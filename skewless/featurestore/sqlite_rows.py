"""Feast's sqlite online store, written the way Feast writes it, with one statement per view.

Feast's sqlite store turns a frame into protos, then upserts each (entity, feature)
with a Python call of its own: 0.56-0.76 ms of CPU per transaction at the stream's batch
sizes, the larger part of its scoring process's CPU at 1,000 tx/s (docs/stack.md,
"Feast online stores"). This writes the same rows, byte for byte, in one `executemany`
per view and one commit per write: Feast's own connection, table names, entity keys,
value protos and timestamp adapter, only not a call per value. `tests/test_online_sqlite.py`
holds the tables to what Feast's `write_to_online_store` leaves (Feast's internals it
reuses are those of the pinned feast==0.67.0). Anything this does not cover (vector or
text-search columns, a feature other than DOUBLE or INT64, a key other than a string)
goes through Feast.

Unlike Feast's write, an older row never replaces a newer one. Feast's sqlite store keeps
whatever was written last, and its timestamps are whole seconds. At parallelism 2 or more
a card's transactions are scored, and written, by whichever subtask holds their merchant:
two write-behinds writing one card in the wrong order left 95 of 2,000 cards with stale
features after a -p 2 drain (docs/stack.md). The newest (event_time, tx_id) written per
view and key is kept in a table of skewless's own, `WRITE_ORDER`, read and written in the
same transaction as the rows, which takes the database's write lock first.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from skewless.featurestore.names import TIMESTAMP_FIELD

_COLUMNS = ("entity_key", "feature_name", "value", "value_text", "event_ts", "created_ts")
WRITE_ORDER = "skewless_write_order"
"""Per feature view and entity key: the event time (ms) and tx_id of the row the store holds. Feast ignores it."""
_ORDER_UPSERT = (f"INSERT INTO {WRITE_ORDER} (view, entity_key, event_ms, tx_id) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(view, entity_key) DO UPDATE SET event_ms = excluded.event_ms, tx_id = excluded.tx_id")
_KEYS_PER_QUERY = 10_000
"""Below sqlite's limit of 32,766 parameters a statement."""
CACHE_KIB = 64 * 1024
"""sqlite's page cache for the writer's connection, in KiB (a negative `cache_size` is KiB)."""


class SqliteRows:
    """Upserts of a sqlite online store's rows; `of(store)` is None when Feast must write them itself."""

    def __init__(self, store) -> None:  # feast.FeatureStore
        from feast.infra.online_stores.sqlite import _table_id
        from feast.value_type import ValueType

        self.store = store
        self.config = store.config
        self.conn = store._get_provider().online_store._get_conn(store.config)
        # sqlite keeps 2 MB of pages by default; the benchmark's store is 9 MB after a minute at 1,000 tx/s, and
        # each upsert walks two B-trees at a random card: 15-18% less CPU per upsert with 64 MB (docs/stack.md).
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # A write-ahead log instead of the rollback journal: a commit appends the changed pages once and syncs
        # one file, where the journal copied each page's old version first and synced the journal, then the
        # database. Just as durable (synchronous stays FULL), 8-16% less CPU and 13-20% less time per write at
        # the stream's batch sizes (docs/stack.md); readers (Feast's online reads) no longer block the writer.
        # A property of the database file: Feast's own connections to it use the log too.
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {WRITE_ORDER} (view TEXT, entity_key BLOB, event_ms INTEGER, tx_id TEXT, "
                          "PRIMARY KEY (view, entity_key)) WITHOUT ROWID")
        self.table_id = _table_id
        self.kinds = {ValueType.DOUBLE: "double_val", ValueType.INT64: "int64_val"}
        self.string = ValueType.STRING
        self.views: dict[str, tuple[str, dict[str, str]] | None] = {}
        """Per view: its upsert statement and each feature's proto field, or None when Feast writes it."""

    @classmethod
    def of(cls, store) -> SqliteRows | None:
        online = store.config.online_store
        if online.type not in ("sqlite", "feast.infra.online_stores.sqlite.SqliteOnlineStore"):
            return None
        if online.vector_enabled or online.text_search_enabled or online.enable_openai_compatible_store:
            return None
        return cls(store)

    def _view(self, name: str) -> tuple[str, dict[str, str]] | None:
        """The view's upsert statement and each feature's proto field; None for a view with another type or key."""
        if name not in self.views:
            view = self.store.get_feature_view(name)
            kinds = {f.name: self.kinds.get(f.dtype.to_value_type()) for f in view.features}
            string_key = [f.dtype.to_value_type() for f in view.entity_columns] == [self.string]
            table = self.table_id(self.config.project, view, self.config.registry.enable_online_feature_view_versioning)
            self.views[name] = (_upsert(table), kinds) if string_key and None not in kinds.values() else None
        return self.views[name]

    def covers(self, name: str) -> bool:
        return self._view(name) is not None

    def write(self, frames: list[tuple[str, str, pd.DataFrame]]) -> None:
        """In one commit: per (view, entity key column, rows), the rows not older than what the store holds for their key.

        `rows`: the key, `TIMESTAMP_FIELD`, `event_time` (ms), `tx_id` and the view's features, one row per key.
        """
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock before reading the order: no writer can come between
        try:
            for name, key, rows in frames:
                upsert, kinds = self._view(name)
                keys = self._keys(key, rows)
                kept = self._not_older(name, keys, rows)
                keys, rows = [k for k, n in zip(keys, kept, strict=True) if n], rows[kept]
                self.conn.executemany(upsert, self._rows(keys, rows, kinds))
                self.conn.executemany(_ORDER_UPSERT, zip([name] * len(keys), keys, rows["event_time"].tolist(),
                                                         rows["tx_id"].tolist(), strict=True))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def _keys(self, key: str, rows: pd.DataFrame) -> list[bytes]:
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        version = self.config.entity_key_serialization_version
        return [serialize_entity_key(EntityKey(join_keys=[key], entity_values=[Value(string_val=k)]), version) for k in rows[key]]

    def _not_older(self, view: str, keys: list[bytes], rows: pd.DataFrame) -> list[bool]:
        """Per row: is it the row the store holds for its key, or newer by (event_time, tx_id) (or is there none)?

        The same row again is written again: a materialize after a change of definitions rewrites each key's newest
        row with new values; a replay or a second writer writes the values it already has."""
        held: dict[bytes, tuple[int, str]] = {}
        for at in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[at:at + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT entity_key, event_ms, tx_id FROM {WRITE_ORDER} WHERE view = ? AND entity_key IN ({marks})"
            held.update((k, (ms, tx)) for k, ms, tx in self.conn.execute(query, [view, *chunk]))
        return [k not in held or (ms, tx) >= held[k] for k, ms, tx in zip(keys, rows["event_time"].tolist(), rows["tx_id"].tolist(),
                                                                         strict=True)]

    def _rows(self, keys: list[bytes], rows: pd.DataFrame, kinds: dict[str, str]) -> list[tuple[Any, ...]]:
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.utils import to_naive_utc

        # Naive UTC datetimes, as Feast hands them to sqlite3: the adapter Feast registers makes them epoch seconds.
        stamps = [to_naive_utc(t) for t in rows[TIMESTAMP_FIELD].array.to_pydatetime()]
        out = []
        for feature, kind in kinds.items():
            cast = float if kind == "double_val" else int
            for entity_key, value, stamp in zip(keys, rows[feature].tolist(), stamps, strict=True):
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    proto, text = Value(), None
                else:
                    value = cast(value)
                    proto, text = Value(**{kind: value}), str(value)
                out.append((entity_key, feature, proto.SerializeToString(), text, stamp, None))
        return out


def _upsert(table: str) -> str:
    """Feast's statement (`SqliteOnlineStore.online_write_batch`): the newest write of a key's feature wins."""
    update = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
    quoted = '"' + table.replace('"', '""') + '"'
    return (f"INSERT INTO {quoted} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
            f"ON CONFLICT(entity_key, feature_name) DO UPDATE SET {update};")
