"""Features for every admitted transaction: event rows -> the JVM feature engine -> a table.

Both jobs call the same engine; only where its event rows come from differs: a staged
history in time order (`staged_events`: the backfill and a stream's bootstrap), the
on-time views of a history read as it arrived (`arrived_events`), or the Kafka topics
after admission (`jobs.admission`). Transactions and labels enter the engine as one stream of
`jobs.feature_spec.ENGINE_COLUMNS` rows; the engine computes each entity's features in
one keyed pass (spec from `jobs.feature_spec`) and returns one row per transaction, in
`output_columns()` order.

The engine's output carries no watermarks: nothing downstream is windowed, and each
watermark would end a Python bundle in the scoring step (one bundle per record).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment, Table
from pyflink.table.expressions import col

from jobs.event_time import LABELS_VIEW, TRANSACTIONS_VIEW
from jobs.feature_spec import ENGINE_COLUMNS, engine_outputs, engine_spec
from udfs.features import FEATURES, Feature

LABEL_KNOWN_AFTER_MS = 1
"""A label is known from 1 ms after it arrived: one arriving with a transaction does not count for it."""
_TRANSACTION_EVENTS = (
    "SELECT 0 AS kind, tx_id, cc_num, merchant_id, event_time AS event_ms, CAST(amount * 100 AS BIGINT) AS amount_cents, "
    f"lat, lon, CAST(NULL AS INT) AS is_fraud FROM {TRANSACTIONS_VIEW}"
)
_LABEL_EVENTS = (
    f"SELECT 1, tx_id, CAST(NULL AS STRING), merchant_id, label_time + {LABEL_KNOWN_AFTER_MS}, CAST(NULL AS BIGINT), "
    f"CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), is_fraud FROM {LABELS_VIEW}"
)


def engine_events(transactions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Normalised transactions and labels as the engine's event rows (`ENGINE_COLUMNS`), in time order.

    The same rows `_TRANSACTION_EVENTS` and `_LABEL_EVENTS` make in SQL: amounts in
    exact cents (they have two decimals), a label at its arrival + 1 ms.
    """
    tx = transactions.reset_index(drop=True)
    lb = labels.reset_index(drop=True)
    frames = (
        pd.DataFrame({
            "kind": 0, "tx_id": tx["tx_id"], "cc_num": tx["cc_num"], "merchant_id": tx["merchant_id"],
            "event_ms": tx["event_time"], "amount_cents": (tx["amount"] * 100).round().astype("int64"),
            "lat": tx["lat"], "lon": tx["lon"], "is_fraud": pd.array([pd.NA] * len(tx), dtype="Int8"),
        }),
        pd.DataFrame({
            "kind": 1, "tx_id": lb["tx_id"], "cc_num": pd.array([pd.NA] * len(lb), dtype="string"),
            "merchant_id": lb["merchant_id"], "event_ms": lb["label_time"] + LABEL_KNOWN_AFTER_MS,
            "amount_cents": pd.array([pd.NA] * len(lb), dtype="Int64"), "lat": float("nan"), "lon": float("nan"),
            "is_fraud": lb["is_fraud"].astype("Int8"),
        }),
    )
    events = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    return events.sort_values("event_ms", kind="stable", ignore_index=True)[list(ENGINE_COLUMNS)]


def staged_events(t_env: StreamTableEnvironment, events_csv: Path) -> DataStream:
    """The engine's input rows from a staged history in time order (`engine_events`, written as CSV)."""
    reader = get_gateway().jvm.skewless.engine.HistoryFile
    return DataStream(reader.read(t_env._j_tenv.execEnv(), str(events_csv.resolve())))


def arrived_events(t_env: StreamTableEnvironment) -> DataStream:
    """The engine's input rows from the on-time views of a history read as it arrived (`jobs.event_time.split_late`)."""
    return t_env.to_data_stream(t_env.sql_query(f"{_TRANSACTION_EVENTS} UNION ALL {_LABEL_EVENTS}"))


def feature_stream(events: DataStream, features: tuple[Feature, ...] = FEATURES) -> DataStream:
    """The engine's rows: `output_columns(features)`, typed as `output_types(features)`."""
    engine = get_gateway().jvm.skewless.engine.FeatureEngine
    return DataStream(engine.build(events._j_data_stream, engine_spec(features), engine_outputs(features)))


def feature_table(
    t_env: StreamTableEnvironment, events: DataStream, features: tuple[Feature, ...] = FEATURES, emit_after_ms: int | None = None,
) -> Table:
    """One row per on-time transaction with `output_columns(features)`.

    `emit_after_ms` keeps only transactions after that event time: a stream job reads a
    history first to fill its windows (a bootstrap) and emits only what comes after.
    """
    rows = t_env.from_data_stream(feature_stream(events, features))
    return rows if emit_after_ms is None else rows.where(col("event_time") > emit_after_ms)
