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

import numpy as np
import pyarrow as pa
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment, Table

from jobs.checkpoint_marks import with_marks
from jobs.event_time import LABELS_VIEW, TRANSACTIONS_VIEW
from jobs.feature_spec import ENGINE_COLUMNS, engine_outputs, engine_spec
from jobs.flink_env import java_env
from skewless.validation import by_tx_id
from udfs.features import FEATURES, Feature

LABEL_KNOWN_AFTER_MS = 1
"""A label is known from 1 ms after it arrived: one arriving with a transaction does not count for it."""
_TRANSACTION_EVENTS = (
    "SELECT 0 AS kind, tx_id, cc_num, merchant_id, event_time AS event_ms, CAST(amount * 100 AS BIGINT) AS amount_cents, "
    f"lat, lon, CAST(NULL AS INT) AS is_fraud FROM {TRANSACTIONS_VIEW}"
)
_LABEL_EVENTS = (
    f"SELECT 1, tx_id, cc_num, merchant_id, label_time + {LABEL_KNOWN_AFTER_MS}, CAST(NULL AS BIGINT), "
    f"CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), is_fraud FROM {LABELS_VIEW}"
)


def engine_events(transactions: pa.Table, labels: pa.Table) -> pa.Table:
    """Normalised transactions and labels (`skewless.schema.Normalised.table`) as the engine's event rows
    (`ENGINE_COLUMNS`), in time order.

    The same rows `_TRANSACTION_EVENTS` and `_LABEL_EVENTS` make in SQL: amounts in
    exact cents (they have two decimals), a label at its arrival + 1 ms with its
    transaction's card. Arrow from end to end: staging writes the table as it is, typed as
    `HistoryFile.java` reads it.
    """
    tx, lb = transactions.num_rows, labels.num_rows

    def joined(first: pa.ChunkedArray | pa.Array, second: pa.ChunkedArray | pa.Array, kind: pa.DataType) -> pa.ChunkedArray:
        return pa.chunked_array([*_chunks(first), *_chunks(second)], kind)

    cents = np.round(transactions["amount"].to_numpy() * 100).astype("int64")
    event_ms = np.concatenate([transactions["event_time"].to_numpy(), labels["label_time"].to_numpy() + LABEL_KNOWN_AFTER_MS])
    events = pa.table({
        "kind": np.repeat(np.array([0, 1], dtype="int32"), [tx, lb]),
        "tx_id": joined(transactions["tx_id"], labels["tx_id"], pa.string()),
        "cc_num": joined(transactions["cc_num"], labels_cards(labels, transactions), pa.string()),
        "merchant_id": joined(transactions["merchant_id"], labels["merchant_id"], pa.string()),
        "event_ms": event_ms,
        "amount_cents": joined(pa.array(cents), pa.nulls(lb, pa.int64()), pa.int64()),
        "lat": joined(transactions["lat"], pa.nulls(lb, pa.float64()), pa.float64()),
        "lon": joined(transactions["lon"], pa.nulls(lb, pa.float64()), pa.float64()),
        "is_fraud": joined(pa.nulls(tx, pa.int32()), labels["is_fraud"].cast(pa.int32()), pa.int32()),
    })
    return events.take(np.argsort(event_ms, kind="stable")).select(list(ENGINE_COLUMNS))


def _chunks(values: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def labels_cards(labels: pa.Table, transactions: pa.Table) -> pa.Array:
    """Each label's card: its transaction's, by tx_id, as the stream's admission gives it (`Admission.java`).

    Labels carry no card of their own; a card's label rates are keyed by this one.
    """
    return by_tx_id(labels["tx_id"], transactions, "cc_num")


def staged_events(env: StreamExecutionEnvironment | StreamTableEnvironment, events: Path) -> DataStream:
    """The engine's input rows from a staged history in time order (`engine_events`, written as Arrow)."""
    reader = get_gateway().jvm.skewless.engine.HistoryFile
    return DataStream(reader.read(java_env(env), str(events.resolve())))


def arrived_events(t_env: StreamTableEnvironment) -> DataStream:
    """The engine's input rows from the on-time views of a history read as it arrived (`jobs.event_time.split_late`)."""
    return t_env.to_data_stream(t_env.sql_query(f"{_TRANSACTION_EVENTS} UNION ALL {_LABEL_EVENTS}"))


def feature_stream(events: DataStream, features: tuple[Feature, ...] = FEATURES) -> DataStream:
    """The engine's rows: `output_columns(features)`, typed as `output_types(features)`."""
    engine = get_gateway().jvm.skewless.engine.FeatureEngine
    return DataStream(engine.build(events._j_data_stream, engine_spec(features), engine_outputs(features)))


def feature_table(
    t_env: StreamTableEnvironment, events: DataStream, features: tuple[Feature, ...] = FEATURES,
    emit_after_ms: int | None = None, marked: bool = False,
) -> Table:
    """One row per on-time transaction with `output_columns(features)`.

    `emit_after_ms` keeps only transactions after that event time: a stream job reads a
    history first to fill its windows (a bootstrap) and emits only what comes after.
    `marked`: with the checkpoint marks the scoring step ties its writes to (`jobs.checkpoint_marks`).
    """
    stream = feature_stream(events, features)
    if emit_after_ms is not None:
        stream = DataStream(get_gateway().jvm.skewless.engine.FeatureEngine.after(stream._j_data_stream, emit_after_ms))
    return t_env.from_data_stream(with_marks(stream) if marked else stream)
