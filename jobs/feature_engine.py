"""Features for every admitted transaction: event rows -> the JVM feature engine -> a table.

Both jobs call the same engine; only where its event rows come from differs: a staged
history's on-time views (`history_events`, the backfill and a stream's bootstrap) or
the Kafka topics after admission (`jobs.admission`). Transactions and labels enter the engine as one stream of
`jobs.feature_spec.ENGINE_COLUMNS` rows; the engine computes each entity's features in
one keyed pass (spec from `jobs.feature_spec`) and returns one row per transaction, in
`output_columns()` order.

The engine's output carries no watermarks: nothing downstream is windowed, and each
watermark would end a Python bundle in the scoring step (one bundle per record).
"""

from __future__ import annotations

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment, Table
from pyflink.table.expressions import col

from jobs.event_time import LABELS_VIEW, TRANSACTIONS_VIEW
from jobs.feature_spec import engine_outputs, engine_spec
from udfs.features import FEATURES, Feature

_TRANSACTION_EVENTS = (
    "SELECT 0 AS kind, tx_id, cc_num, merchant_id, event_time AS event_ms, CAST(amount * 100 AS BIGINT) AS amount_cents, "
    f"lat, lon, CAST(NULL AS INT) AS is_fraud FROM {TRANSACTIONS_VIEW}"
)
# A label is known from 1 ms after it arrived: one arriving with a transaction does not count for it.
_LABEL_EVENTS = (
    "SELECT 1, tx_id, CAST(NULL AS STRING), merchant_id, label_time + 1, CAST(NULL AS BIGINT), "
    f"CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), is_fraud FROM {LABELS_VIEW}"
)


def history_events(t_env: StreamTableEnvironment) -> DataStream:
    """The engine's input rows from the on-time views of a staged history (already validated by the staging)."""
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
