"""Streaming: Kafka `transactions` + `fraud-labels` -> admission -> the shared feature engine -> Feast online + XGBoost -> `fraud-scores`.

One job, six outputs: scores; drift per window of the scores (`jobs.monitoring`); per input topic, the dead letters (messages that break
a rule of `udfs.validation`) and the late messages. A message set aside keeps its
original key, value and timestamp, with the reason in headers (the dead-letter
convention of Kafka Connect), so nothing the job was given vanishes and no message can
stop the job.
"""

from __future__ import annotations

from pathlib import Path

from pyflink.datastream import DataStream
from pyflink.table import DataTypes, Schema, StreamTableEnvironment, Table, TableDescriptor, TableResult
from pyflink.table.expressions import col

from jobs.admission import admit
from jobs.feature_engine import feature_table, staged_events
from jobs.flink_env import create_table_env
from jobs.monitoring import drift_windows, score_metrics
from jobs.serving import INPUT_COLUMNS, SCORE_FIELDS, score_and_serve
from jobs.sources import CLIENT_PROPERTIES, Bootstrap, Offsets, read_topic
from skewless.config import Settings
from udfs.validation import LABEL_RECORD, RECORDS, TRANSACTION_RECORD

CHECKPOINT_INTERVAL = "10 s"


def _kafka(settings: Settings, topic: str, schema: Schema, key: str, value_format: str) -> TableDescriptor:
    guarantee = settings.kafka.delivery_guarantee
    descriptor = (
        TableDescriptor.for_connector("kafka").schema(schema)
        .option("topic", topic)
        .option("properties.bootstrap.servers", settings.kafka.bootstrap_servers)
        .option("properties.linger.ms", "0")
        .option("key.format", "raw")
        .option("key.fields", key)
        .option("value.format", value_format)
        .option("value.fields-include", "ALL" if value_format == "json" else "EXCEPT_KEY")
        .option("sink.delivery-guarantee", guarantee)
    )
    for name, value in CLIENT_PROPERTIES.items():
        descriptor = descriptor.option(f"properties.{name}", value)
    if guarantee == "exactly-once":
        # One transactional id per sink and job; a transaction stays open for at most a checkpoint interval,
        # well inside the broker's 15-minute ceiling.
        descriptor = (descriptor.option("sink.transactional-id-prefix", f"{settings.kafka.consumer_group}-{topic}")
                      .option("properties.transaction.timeout.ms", "600000"))
    return descriptor.build()


def _scores_sink(settings: Settings) -> TableDescriptor:
    schema = Schema.new_builder().from_fields(
        [name for name, _ in SCORE_FIELDS], [dtype for _, dtype in SCORE_FIELDS]).build()
    return _kafka(settings, settings.topics.scores, schema, "cc_num", "json")


def _set_aside_schema() -> Schema:
    """A message set aside: its original key, value and timestamp, the reason in headers.

    Built when a job is, not at import: a `Schema` starts the JVM, and every CLI command imports this module.
    """
    return (
        Schema.new_builder()
        .column("k", DataTypes.BYTES()).column("v", DataTypes.BYTES())
        .column_by_metadata("headers", DataTypes.MAP(DataTypes.STRING(), DataTypes.BYTES()))
        .column_by_metadata("ts", DataTypes.TIMESTAMP_LTZ(3), "timestamp")
        .build()
    )


def _keyed_bytes(settings: Settings, topic: str) -> TableDescriptor:
    schema = Schema.new_builder().column("k", DataTypes.BYTES()).column("v", DataTypes.BYTES()).build()
    return _kafka(settings, topic, schema, "k", "raw")


def _set_aside(t_env: StreamTableEnvironment, settings: Settings, rows: DataStream, topic: str) -> tuple[TableDescriptor, Table]:
    table = t_env.from_data_stream(rows).select(col("k"), col("v"), col("headers"), col("ts").cast(DataTypes.TIMESTAMP_LTZ(3)))
    return _kafka(settings, topic, _set_aside_schema(), "k", "raw"), table


def _history(t_env: StreamTableEnvironment, settings: Settings, bootstrap: Bootstrap | None) -> DataStream | None:
    if bootstrap is None:
        return None
    return staged_events(t_env, bootstrap.events)


def start_stream(
    settings: Settings, start_offsets: Offsets | None = None, stop_offsets: Offsets | None = None,
    bootstrap: Bootstrap | None = None, resume_from: Path | None = None, extra: dict[str, str] | None = None,
) -> TableResult:
    """Submit the streaming job; returns at once (call `.wait()` to block until it ends).

    `resume_from`: a retained checkpoint (`jobs.checkpoints`) whose window state and
    offsets the job starts from; the job must be built with the same settings.
    `extra`: more Flink options (`jobs.flink_env.local_endpoints` for a local `skewless stream`).
    """
    options = {
        "pipeline.name": "skewless stream",
        "execution.checkpointing.interval": CHECKPOINT_INTERVAL,
        # Window state outgrows the JobManager's 5 MB in-memory checkpoint limit within
        # days of history: checkpoints go to files under the data directory, and stay
        # there when the job is cancelled or fails, for `skewless stream --resume`.
        "execution.checkpointing.storage": "filesystem",
        "execution.checkpointing.dir": settings.checkpoints_dir.resolve().as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.tolerable-failed-checkpoints": "3",
    }
    if resume_from is not None:
        options["execution.state-recovery.path"] = resume_from.resolve().as_uri()
    options.update(extra or {})
    t_env = create_table_env(settings, "latency", options)
    received = [read_topic(t_env, settings, kind, start_offsets, stop_offsets) for kind in RECORDS]
    history = _history(t_env, settings, bootstrap)
    admitted = admit(received, history, settings.features.allowed_lateness_ms)
    features = feature_table(t_env, admitted.events, emit_after_ms=bootstrap.until_ms if bootstrap else None, marked=True)
    named = features.select(*(col(name) for name in INPUT_COLUMNS))  # the scoring step reads its input by position
    scored = named.map(score_and_serve(settings)).where(col("tx_id").is_not_null)  # marks leave here
    scores = t_env.to_data_stream(scored)  # one scoring step, two readers
    statements = t_env.create_statement_set()
    statements.add_insert(_scores_sink(settings), t_env.from_data_stream(scores))
    topics = settings.topics
    measured = score_metrics(scores, settings)
    statements.add_insert(_keyed_bytes(settings, topics.drift), t_env.from_data_stream(drift_windows(measured, settings)))
    for kind, dead_letters, late in ((TRANSACTION_RECORD, topics.dead_letters, topics.late_transactions),
                                     (LABEL_RECORD, topics.label_dead_letters, topics.late_labels)):
        statements.add_insert(*_set_aside(t_env, settings, admitted.dead_letters[kind.name], dead_letters))
        statements.add_insert(*_set_aside(t_env, settings, admitted.late[kind.name], late))
    return statements.execute()
