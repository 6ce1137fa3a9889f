"""Two sources, two bindings: bounded history files or the unbounded Kafka topics.

Both bindings declare the same tables, `transactions` and `labels`, with the same
columns, row time and watermark, so nothing downstream can tell which one it reads.
A label's row time is its `label_time` plus 1 ms: a label that arrives in the same
millisecond as a transaction is not yet known to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyflink.table import TableEnvironment

from jobs.event_time import RAW_LABELS, RAW_TRANSACTIONS
from skewless.config import Settings

_WATERMARK = "WATERMARK FOR et AS et - INTERVAL '0.001' SECOND * {lateness_ms}"
COLUMNS = {
    RAW_TRANSACTIONS: """
        tx_id STRING, cc_num STRING, merchant_id STRING, amount DECIMAL(12, 2), lat DOUBLE, lon DOUBLE,
        event_time BIGINT, category STRING, et AS TO_TIMESTAMP_LTZ(event_time, 3), """ + _WATERMARK,
    RAW_LABELS: """
        tx_id STRING, merchant_id STRING, is_fraud INT, label_time BIGINT,
        et AS TO_TIMESTAMP_LTZ(label_time + 1, 3), """ + _WATERMARK,
}
"""Column order is the staged CSV's order (`skewless.schema`)."""


def _with(options: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{v}'" for k, v in options.items())


def _create(t_env: TableEnvironment, settings: Settings, table: str, options: dict[str, str], prefix: str = "") -> None:
    columns = COLUMNS[table].format(lateness_ms=settings.features.allowed_lateness_ms)
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {prefix}{table} ({columns}) WITH ({_with(options)})")


def bind_history(
    t_env: TableEnvironment, settings: Settings, transactions_csv: Path, labels_csv: Path, as_arrived: bool = False,
    prefix: str = "",
) -> None:
    """Bounded: staged, normalised, header-less CSVs in COLUMNS order (see jobs.backfill).

    `as_arrived` files are read as an arrival order: the watermark then advances
    after every row, so which rows are late does not depend on how fast the file is read.
    """
    for table, path in ((RAW_TRANSACTIONS, transactions_csv), (RAW_LABELS, labels_csv)):
        options = {"connector": "filesystem", "path": str(path.resolve()), "format": "csv", "csv.null-literal": ""}
        if as_arrived:
            options["scan.watermark.emit.strategy"] = "on-event"
        _create(t_env, settings, table, options, prefix)


@dataclass(frozen=True)
class Bootstrap:
    """History a stream job reads before Kafka, so its windows start as full as the backfill's.

    Rows with event_time up to `until_ms` only fill windows: they are not scored or emitted.
    """

    transactions_csv: Path
    labels_csv: Path
    until_ms: int


def offsets_option(offsets: dict[int, int]) -> str:
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


Offsets = dict[str, dict[int, int]]
"""Topic -> partition -> offset."""


def bind_kafka(
    t_env: TableEnvironment, settings: Settings, start_offsets: Offsets | None = None, stop_offsets: Offsets | None = None,
    bootstrap: Bootstrap | None = None,
) -> None:
    """Unbounded unless `stop_offsets` (partition -> offset to stop before) is given.

    Without `start_offsets` the job resumes from its consumer group's committed
    offsets (committed at each checkpoint), or the earliest ones for a new group.

    Stop offsets are what a finite run (demo, test, parity check) uses to end: the
    source then finishes, Flink emits a final watermark and every buffered row is
    flushed. The embedded broker's own end offsets cannot be used for that (docs/stack.md).

    With a `bootstrap`, each table is the union of the history file and the topic:
    the history's rows come first in event time, and the union's watermark waits for
    the file until it is read.
    """
    prefix = "live_" if bootstrap else ""
    for table, topic in ((RAW_TRANSACTIONS, settings.topics.transactions), (RAW_LABELS, settings.topics.labels)):
        options = {
            "connector": "kafka",
            "topic": topic,
            "properties.bootstrap.servers": settings.kafka.bootstrap_servers,
            "properties.group.id": settings.kafka.consumer_group,
            "properties.fetch.max.wait.ms": str(settings.kafka.fetch_max_wait_ms),
            "properties.auto.offset.reset": "earliest",
            "scan.startup.mode": "group-offsets",
            "format": "json",
            "json.fail-on-missing-field": "false",
            # The watermark moves with every record, not on a timer: whether a record is
            # late then depends only on what arrived before it, and no score waits for a tick.
            "scan.watermark.emit.strategy": "on-event",
        }
        if start_offsets is not None:
            options["scan.startup.mode"] = "specific-offsets"
            options["scan.startup.specific-offsets"] = offsets_option(start_offsets[topic])
        if stop_offsets is not None:
            options["scan.bounded.mode"] = "specific-offsets"
            options["scan.bounded.specific-offsets"] = offsets_option(stop_offsets[topic])
        elif table == RAW_LABELS and settings.features.labels_idle_timeout_s:
            options["scan.watermark.idle-timeout"] = f"{settings.features.labels_idle_timeout_s} s"
        _create(t_env, settings, table, options, prefix)
    if bootstrap:
        bind_history(t_env, settings, bootstrap.transactions_csv, bootstrap.labels_csv, prefix="history_")
        for table in (RAW_TRANSACTIONS, RAW_LABELS):
            t_env.execute_sql(
                f"CREATE TEMPORARY VIEW {table} AS SELECT * FROM history_{table} UNION ALL SELECT * FROM live_{table}"
            )
