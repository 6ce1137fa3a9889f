"""Two sources: bounded history files, or the unbounded Kafka topics.

A history is staged and validated by the backfill (`skewless.schema`). In time order it
is one file of engine event rows, read by the engine's own reader
(`jobs.feature_engine.staged_events`); as it arrived, it is read as the tables
`transactions` and `labels`, so late rows can be split off. A topic is read as raw bytes and each message is
validated where it is read, by the same rules (`udfs.validation`), so a bad message is
a dead letter, never an exception. Both give the feature engine the same event rows,
with the same row time and watermark: a label's row time is its `label_time` plus 1 ms,
so a label that arrives in the same millisecond as a transaction is not yet known to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment, TableEnvironment

from jobs.event_time import RAW_LABELS, RAW_TRANSACTIONS
from jobs.flink_env import java_env
from skewless.config import Settings
from skewless.records import sql_columns
from udfs.units import s_to_ms
from udfs.validation import LABEL_RECORD, TRANSACTION_RECORD, RecordKind, rules_spec

CLIENT_PROPERTIES = {"enable.metrics.push": "false"}
"""Every Kafka client of a stream job. Kafka 3.7+ clients push their metrics to the broker
(KIP-714); the embedded broker gives each client a new subscription every 5 s, and Flink's
log gained a line per client each time (224 in a 3-minute run). skewless's metrics go
through Flink's reporters instead."""
_WATERMARK = "WATERMARK FOR et AS et - INTERVAL '0.001' SECOND * {lateness_ms}"
COLUMNS = {
    RAW_TRANSACTIONS: f"{sql_columns(TRANSACTION_RECORD)}, et AS TO_TIMESTAMP_LTZ(event_time, 3), {_WATERMARK}",
    RAW_LABELS: f"{sql_columns(LABEL_RECORD)}, cc_num STRING, et AS TO_TIMESTAMP_LTZ(label_time + 1, 3), {_WATERMARK}",
}
"""From the records' declarations, in the staged CSV's order (a staged label ends with its transaction's card,
`jobs.event_time.STAGED_LABEL_COLUMNS`)."""


def _with(options: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{v}'" for k, v in options.items())


def _create(t_env: TableEnvironment, settings: Settings, table: str, options: dict[str, str]) -> None:
    columns = COLUMNS[table].format(lateness_ms=settings.features.allowed_lateness_ms)
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {table} ({columns}) WITH ({_with(options)})")


def bind_arrivals(t_env: TableEnvironment, settings: Settings, transactions_csv: Path, labels_csv: Path) -> None:
    """Bounded: a history staged as it arrived, a header-less CSV per kind in COLUMNS order (see jobs.backfill).

    Each file is read as an order of arrival: the watermark advances after every row,
    so which rows are late does not depend on how fast the file is read. A history in
    time order is read by the engine itself (`jobs.feature_engine.staged_events`).
    """
    for table, path in ((RAW_TRANSACTIONS, transactions_csv), (RAW_LABELS, labels_csv)):
        options = {
            "connector": "filesystem", "path": str(path.resolve()), "format": "csv", "csv.null-literal": "",
            "scan.watermark.emit.strategy": "on-event",
        }
        _create(t_env, settings, table, options)


@dataclass(frozen=True)
class Bootstrap:
    """History a stream job reads before Kafka, so its windows start as full as the backfill's.

    Rows with event_time up to `until_ms` only fill windows: they are not scored or emitted.
    """

    events: Path
    """The engine's event rows in time order (`jobs.feature_engine.engine_events`, an Arrow file)."""
    until_ms: int


def offsets_option(offsets: dict[int, int]) -> str:
    return ";".join(f"{p}:{o}" for p, o in sorted(offsets.items()))


Offsets = dict[str, dict[int, int]]
"""Topic -> partition -> offset."""


def read_topic(
    t_env: StreamTableEnvironment, settings: Settings, kind: RecordKind, start_offsets: Offsets | None = None,
    stop_offsets: Offsets | None = None,
) -> DataStream:
    """One input topic, as raw bytes checked against `kind`'s rules where they are read (`KafkaInput`).

    Unbounded unless `stop_offsets` (partition -> offset to stop before) is given.
    Without `start_offsets` the job resumes from its consumer group's committed
    offsets (committed at each checkpoint), or the earliest ones for a new group.

    Stop offsets are what a finite run (demo, test, parity check) uses to end: the
    source then finishes, Flink emits a final watermark and every buffered row is
    flushed. The embedded broker's own end offsets cannot be used for that (docs/stack.md).
    """
    topic = settings.topics.transactions if kind is TRANSACTION_RECORD else settings.topics.labels
    properties = {
        "group.id": settings.kafka.consumer_group,
        "client.id.prefix": f"{settings.kafka.consumer_group}-{kind.name}",
        "fetch.max.wait.ms": str(settings.kafka.fetch_max_wait_ms),
        **CLIENT_PROPERTIES,
    }
    idle_ms = 0
    if kind is LABEL_RECORD and stop_offsets is None:
        idle_ms = s_to_ms(settings.features.labels_idle_timeout_s)
    stream = get_gateway().jvm.skewless.engine.KafkaInput.read(
        java_env(t_env), rules_spec(kind), settings.kafka.bootstrap_servers, topic, properties,
        offsets_option(start_offsets[topic]) if start_offsets else "",
        offsets_option(stop_offsets[topic]) if stop_offsets else "",
        settings.features.allowed_lateness_ms, idle_ms, settings.features.silence_release_ms,
    )
    return DataStream(stream)
