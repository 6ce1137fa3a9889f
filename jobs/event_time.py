"""Event time, made deterministic: late events set aside, on-time ones put in order.

Both jobs pass their raw sources through here before the feature query:

1. Each row is compared with the watermark it arrives under. A row at or behind it
   would be dropped without a word by the OVER windows, so it is split off as late,
   with the reason, for the caller to write to a late topic or file.
2. On-time transactions and labels are sorted by (event time, tx_id) as the watermark
   passes. Flink's per-key OVER operators then see a card's same-millisecond
   transactions in tx_id order in either job, however the broker interleaved them.

The DataStream round trips are planner barriers: the planner cannot place a hash
exchange after a temporal sort ("not enough rules"), and the split must happen once,
after one read of the source, for both branches.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyflink.table import DataTypes, Schema, StreamTableEnvironment, Table

from jobs.feature_sql import LABELS_VIEW, TRANSACTIONS_VIEW
from skewless.schema import LABEL_COLUMNS, TRANSACTION_COLUMNS

RAW_TRANSACTIONS = "transactions"
RAW_LABELS = "labels"
LATE_REASON = "at or behind the watermark: more out of order than the allowed lateness ({lateness_ms} ms)"


@dataclass(frozen=True)
class Flagged:
    """A source's rows with the watermark each arrived under (view `name`)."""

    name: str
    kind: str
    fields: tuple[str, ...]
    time_field: str


_IN_ORDER = "et - INTERVAL '0.001' SECOND"
"""The watermark of a stream already in event-time order: nothing after a row can be older."""


def _reimport(t_env: StreamTableEnvironment, table: Table, watermark: str = "SOURCE_WATERMARK()") -> Table:
    """Through a DataStream and back: the record timestamp becomes row time `et`.

    The column types are declared again: inferred from Java objects, DECIMAL(12, 2)
    would come back as DECIMAL(38, 18) and averages would round differently.
    """
    schema = (
        Schema.new_builder()
        .from_row_data_type(table.get_schema().to_row_data_type())
        .column_by_metadata("et", DataTypes.TIMESTAMP_LTZ(3), "rowtime")
        .watermark("et", watermark)
        .build()
    )
    return t_env.from_data_stream(t_env.to_data_stream(table), schema)


_ON_TIME = "arrival_watermark IS NULL OR et > arrival_watermark"
"""Nothing is late before the first watermark; after it, a row at or behind it is."""


def _flag(t_env: StreamTableEnvironment, raw: str, kind: str, fields: tuple[str, ...], time_field: str) -> Flagged:
    flagged = Flagged(f"{raw}_flagged", kind, fields, time_field)
    table = t_env.sql_query(f"SELECT {', '.join(fields)}, et AS arrival_et, CURRENT_WATERMARK(et) AS arrival_watermark FROM {raw}")
    t_env.create_temporary_view(flagged.name, _reimport(t_env, table))
    return flagged


def _register_on_time(t_env: StreamTableEnvironment, flagged: Flagged, view: str) -> None:
    """On-time rows, sorted, with a periodic watermark of their own.

    The source's watermark advances with every record (deterministic late split), and
    each advance makes Flink's Python operators end their bundle: one bundle per
    record. Past the sort the stream is in order, so a watermark just behind the
    newest row, emitted every `flink.watermark_interval_ms`, loses nothing and lets
    bundles fill.
    """
    columns = ", ".join(flagged.fields)
    ordered = t_env.sql_query(f"SELECT {columns}, et AS arrival_et FROM {flagged.name} WHERE {_ON_TIME} ORDER BY et, tx_id")
    t_env.create_temporary_view(f"{view}_sorted", _reimport(t_env, ordered, _IN_ORDER))
    t_env.create_temporary_view(view, t_env.sql_query(f"SELECT {columns}, et FROM {view}_sorted"))


def split_late(t_env: StreamTableEnvironment) -> tuple[Flagged, Flagged]:
    """Register the on-time views the feature query reads; return both sources' flagged views."""
    transactions = _flag(t_env, RAW_TRANSACTIONS, "transaction", TRANSACTION_COLUMNS, "event_time")
    labels = _flag(t_env, RAW_LABELS, "label", LABEL_COLUMNS, "label_time")
    _register_on_time(t_env, transactions, TRANSACTIONS_VIEW)
    _register_on_time(t_env, labels, LABELS_VIEW)
    return transactions, labels


def late_records(t_env: StreamTableEnvironment, flagged: Flagged, lateness_ms: int) -> Table:
    """The late rows as they came in, with the watermark they missed and the reason."""
    reason = LATE_REASON.format(lateness_ms=lateness_ms)
    return t_env.sql_query(
        f"SELECT {', '.join(flagged.fields)}, CAST(arrival_watermark AS STRING) AS missed_watermark, '{reason}' AS reason "
        f"FROM {flagged.name} WHERE NOT ({_ON_TIME})"
    )
