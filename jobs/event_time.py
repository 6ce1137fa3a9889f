"""Event time, made deterministic: late rows of a history read as it arrived, set aside before the feature engine.

The backfill passes its history tables through here (`--as-arrived`); the stream
applies the same rule to each message where it reads it (`Admission.java`). Each row is
compared with the watermark it arrives under. A row at or behind it could no longer be
placed in its entity's history in time order, so it is split off as late, with the
reason, for the caller to write to a late topic or file. On-time rows need no global
sort: the engine holds each key's rows until the watermark passes them and orders
same-millisecond rows by tx_id itself (`jobs.feature_engine`).

The DataStream round trip is a planner barrier: the split must happen once, after one
read of the source, for both branches.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyflink.table import DataTypes, Schema, StreamTableEnvironment, Table

from skewless.schema import LABEL_COLUMNS, TRANSACTION_COLUMNS

RAW_TRANSACTIONS = "transactions"
RAW_LABELS = "labels"
TRANSACTIONS_VIEW = "on_time_transactions"
LABELS_VIEW = "on_time_labels"
STAGED_LABEL_COLUMNS = (*LABEL_COLUMNS, "cc_num")
"""A label as staged: its record, then its transaction's card (`jobs.feature_engine.labels_cards`)."""
LATE_REASON = "at or behind the watermark: more out of order than the allowed lateness ({lateness_ms} ms)"


@dataclass(frozen=True)
class Source:
    """A raw source table, what its rows are, and the views the late split makes of it."""

    raw: str
    kind: str
    fields: tuple[str, ...]
    time_field: str
    on_time_view: str

    @property
    def name(self) -> str:
        """The view of its rows with the watermark each arrived under."""
        return f"{self.raw}_flagged"


_SOURCES = (
    Source(RAW_TRANSACTIONS, "transaction", TRANSACTION_COLUMNS, "event_time", TRANSACTIONS_VIEW),
    Source(RAW_LABELS, "label", STAGED_LABEL_COLUMNS, "label_time", LABELS_VIEW),
)


def _reimport(t_env: StreamTableEnvironment, table: Table) -> Table:
    """Through a DataStream and back: the record timestamp becomes row time `et`.

    The column types are declared again: inferred from Java objects, DECIMAL(12, 2)
    would come back as DECIMAL(38, 18).
    """
    schema = (
        Schema.new_builder()
        .from_row_data_type(table.get_schema().to_row_data_type())
        .column_by_metadata("et", DataTypes.TIMESTAMP_LTZ(3), "rowtime")
        .watermark("et", "SOURCE_WATERMARK()")
        .build()
    )
    return t_env.from_data_stream(t_env.to_data_stream(table), schema)


_ON_TIME = "arrival_watermark IS NULL OR et > arrival_watermark"
"""Nothing is late before the first watermark; after it, a row at or behind it is."""


def _flag(t_env: StreamTableEnvironment, source: Source) -> Source:
    columns = ", ".join(source.fields)
    table = t_env.sql_query(f"SELECT {columns}, et AS arrival_et, CURRENT_WATERMARK(et) AS arrival_watermark FROM {source.raw}")
    t_env.create_temporary_view(source.name, _reimport(t_env, table))
    t_env.create_temporary_view(source.on_time_view, t_env.sql_query(f"SELECT {columns} FROM {source.name} WHERE {_ON_TIME}"))
    return source


def split_late(t_env: StreamTableEnvironment) -> tuple[Source, ...]:
    """Register the on-time views the feature engine reads; return the flagged views (transactions, labels).

    The backfill of a history read as it arrived (`--as-arrived`) uses it; the stream
    splits late messages where it reads them (`jobs.admission`), with the same rule.
    """
    return tuple(_flag(t_env, source) for source in _SOURCES)


def late_records(t_env: StreamTableEnvironment, flagged: Source, lateness_ms: int) -> Table:
    """The late rows as they came in, with the watermark they missed and the reason."""
    reason = LATE_REASON.format(lateness_ms=lateness_ms)
    return t_env.sql_query(
        f"SELECT {', '.join(flagged.fields)}, CAST(arrival_watermark AS STRING) AS missed_watermark, '{reason}' AS reason "
        f"FROM {flagged.name} WHERE NOT ({_ON_TIME})"
    )
