"""One source, two bindings: a bounded history file or the unbounded Kafka topic.

Both declare the same table `transactions` with the same columns, row time and
watermark, so the feature query cannot tell which one it reads.
"""

from __future__ import annotations

from pathlib import Path

from pyflink.table import TableEnvironment

from jobs.feature_sql import SOURCE_TABLE
from skewless.config import Settings

COLUMNS = """
    tx_id STRING,
    cc_num STRING,
    merchant_id STRING,
    amount DECIMAL(12, 2),
    lat DOUBLE,
    lon DOUBLE,
    event_time BIGINT,
    category STRING,
    et AS TO_TIMESTAMP_LTZ(event_time, 3),
    WATERMARK FOR et AS et - INTERVAL '0.001' SECOND * {lateness_ms}
"""


def _with(options: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{v}'" for k, v in options.items())


def _create(t_env: TableEnvironment, settings: Settings, options: dict[str, str]) -> None:
    columns = COLUMNS.format(lateness_ms=settings.features.allowed_lateness_ms)
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {SOURCE_TABLE} ({columns}) WITH ({_with(options)})")


def bind_history(t_env: TableEnvironment, settings: Settings, staged_csv: Path) -> None:
    """Bounded: a staged, normalised, header-less CSV in COLUMNS order (see jobs.backfill)."""
    _create(t_env, settings, {
        "connector": "filesystem", "path": str(staged_csv.resolve()), "format": "csv",
        "csv.null-literal": "",
    })


def offsets_option(offsets: dict[int, int]) -> str:
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


def bind_kafka(
    t_env: TableEnvironment, settings: Settings,
    start_offsets: dict[int, int] | None = None, stop_offsets: dict[int, int] | None = None,
) -> None:
    """Unbounded unless `stop_offsets` (partition -> offset to stop before) is given.

    Without `start_offsets` the job resumes from its consumer group's committed
    offsets (committed at each checkpoint), or the earliest ones for a new group.

    Stop offsets are what a finite run (demo, test, parity check) uses to end: the
    source then finishes, Flink emits a final watermark and every buffered row is
    flushed. The embedded broker's own end offsets cannot be used for that (STACK.md).
    """
    options = {
        "connector": "kafka",
        "topic": settings.topics.transactions,
        "properties.bootstrap.servers": settings.kafka.bootstrap_servers,
        "properties.group.id": settings.kafka.consumer_group,
        "properties.fetch.max.wait.ms": str(settings.kafka.fetch_max_wait_ms),
        "properties.auto.offset.reset": "earliest",
        "scan.startup.mode": "group-offsets",
        "format": "json",
        "json.fail-on-missing-field": "false",
    }
    if start_offsets is not None:
        options["scan.startup.mode"] = "specific-offsets"
        options["scan.startup.specific-offsets"] = offsets_option(start_offsets)
    if stop_offsets is not None:
        options["scan.bounded.mode"] = "specific-offsets"
        options["scan.bounded.specific-offsets"] = offsets_option(stop_offsets)
    _create(t_env, settings, options)
