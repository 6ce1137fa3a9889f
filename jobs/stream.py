"""Streaming: Kafka `transactions` + `fraud-labels` -> the shared feature engine -> Feast online + XGBoost -> `fraud-scores`.

One job, three outputs: scores, and the late transactions and late labels, each on
its own topic with the original record as value and the reason in headers (the
dead-letter convention of Kafka Connect), so nothing the job was given vanishes.
"""

from __future__ import annotations

from pyflink.table import DataTypes, Schema, StreamTableEnvironment, Table, TableDescriptor, TableResult
from pyflink.table.expressions import col

from jobs.event_time import Source, late_records, split_late
from jobs.feature_engine import feature_table
from jobs.flink_env import create_table_env
from jobs.serving import SCORE_FIELDS, score_and_serve
from jobs.sources import Bootstrap, Offsets, bind_kafka
from skewless.config import Settings

CHECKPOINT_INTERVAL = "10 s"
LATE_HEADERS = ("reason", "missed_watermark")


def _kafka(settings: Settings, topic: str, schema: Schema, key: str) -> TableDescriptor:
    return (
        TableDescriptor.for_connector("kafka").schema(schema)
        .option("topic", topic)
        .option("properties.bootstrap.servers", settings.kafka.bootstrap_servers)
        .option("properties.linger.ms", "0")
        .option("key.format", "raw")
        .option("key.fields", key)
        .option("value.format", "json")
        .option("value.fields-include", "ALL")
        .option("sink.delivery-guarantee", "at-least-once")
        .build()
    )


def _scores_sink(settings: Settings) -> TableDescriptor:
    schema = Schema.new_builder().from_fields(
        [name for name, _ in SCORE_FIELDS], [dtype for _, dtype in SCORE_FIELDS]).build()
    return _kafka(settings, settings.topics.scores, schema, "cc_num")


def _late_insert(
    t_env: StreamTableEnvironment, settings: Settings, flagged: Source, topic: str, key: str,
) -> tuple[TableDescriptor, Table]:
    """The original record as value; `skewless.late.reason` and `.watermark` as headers."""
    late = late_records(t_env, flagged, settings.features.allowed_lateness_ms)
    record = late.select(*[col(c) for c in flagged.fields])
    schema = (
        Schema.new_builder().from_row_data_type(record.get_schema().to_row_data_type())
        .column_by_metadata("headers", DataTypes.MAP(DataTypes.STRING(), DataTypes.BYTES()))
        .build()
    )
    t_env.create_temporary_view(f"{flagged.name}_late", late)
    headers = ", ".join(f"'skewless.late.{h}', CAST(CAST({h} AS STRING) AS BYTES)" for h in LATE_HEADERS)
    table = t_env.sql_query(f"SELECT {', '.join(flagged.fields)}, MAP[{headers}] FROM {flagged.name}_late")
    return _kafka(settings, topic, schema, key), table


def start_stream(
    settings: Settings, start_offsets: Offsets | None = None, stop_offsets: Offsets | None = None,
    bootstrap: Bootstrap | None = None,
) -> TableResult:
    """Submit the streaming job; returns at once (call `.wait()` to block until it ends)."""
    t_env = create_table_env(settings, "latency", {
        "pipeline.name": "skewless stream",
        "execution.checkpointing.interval": CHECKPOINT_INTERVAL,
        # Window state outgrows the JobManager's 5 MB in-memory checkpoint limit within
        # days of history: checkpoints go to files under the data directory.
        "execution.checkpointing.storage": "filesystem",
        "execution.checkpointing.dir": settings.checkpoints_dir.resolve().as_uri(),
        "execution.checkpointing.tolerable-failed-checkpoints": "3",
    })
    bind_kafka(t_env, settings, start_offsets, stop_offsets, bootstrap)
    transactions, labels = split_late(t_env, settings.features.silence_release_ms)
    features = feature_table(t_env, emit_after_ms=bootstrap.until_ms if bootstrap else None)
    scores = features.map(score_and_serve(settings))
    statements = t_env.create_statement_set()
    statements.add_insert(_scores_sink(settings), scores)
    statements.add_insert(*_late_insert(t_env, settings, transactions, settings.topics.late_transactions, "cc_num"))
    statements.add_insert(*_late_insert(t_env, settings, labels, settings.topics.late_labels, "tx_id"))
    return statements.execute()
