"""Streaming: Kafka `transactions` -> the shared feature query -> Feast online + XGBoost -> `fraud-scores`."""

from __future__ import annotations

from pyflink.table import TableEnvironment, TableResult

from jobs.feature_sql import feature_query
from jobs.flink_env import create_table_env
from jobs.serving import SCORE_FIELDS, score_and_serve
from jobs.sources import bind_kafka
from skewless.config import Settings

SCORES_TABLE = "fraud_scores"
CHECKPOINT_INTERVAL = "10 s"


def _bind_scores_sink(t_env: TableEnvironment, settings: Settings) -> None:
    columns = ", ".join(f"{name} {dtype}" for name, dtype in SCORE_FIELDS)
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE {SCORES_TABLE} ({columns}) WITH (
            'connector' = 'kafka',
            'topic' = '{settings.topics.scores}',
            'properties.bootstrap.servers' = '{settings.kafka.bootstrap_servers}',
            'properties.linger.ms' = '0',
            'key.format' = 'raw',
            'key.fields' = 'cc_num',
            'value.format' = 'json',
            'value.fields-include' = 'ALL',
            'sink.delivery-guarantee' = 'at-least-once'
        )""")


def start_stream(
    settings: Settings, start_offsets: dict[int, int] | None = None, stop_offsets: dict[int, int] | None = None,
) -> TableResult:
    """Submit the streaming job; returns at once (call `.wait()` to block until it ends)."""
    t_env = create_table_env(settings, "latency")
    config = t_env.get_config()
    config.set("execution.checkpointing.interval", CHECKPOINT_INTERVAL)
    # Window state outgrows the JobManager's 5 MB in-memory checkpoint limit within
    # days of history: checkpoints go to files under the data directory.
    config.set("execution.checkpointing.storage", "filesystem")
    config.set("execution.checkpointing.dir", settings.checkpoints_dir.resolve().as_uri())
    config.set("execution.checkpointing.tolerable-failed-checkpoints", "3")
    bind_kafka(t_env, settings, start_offsets, stop_offsets)
    _bind_scores_sink(t_env, settings)
    features = t_env.sql_query(feature_query())
    return features.map(score_and_serve(settings)).execute_insert(SCORES_TABLE)
