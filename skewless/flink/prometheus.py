"""Flink's Prometheus reporter, for a cluster and for the local mini-cluster.

A cluster (standalone or compose) loads the reporter from Flink's plugins/ folder; the
options below in its configuration are enough. The mini-cluster that PyFlink starts
inside a local `skewless stream` does not load plugins (measured: with the options set,
nothing listens), and its JVM's classpath is lib/, opt/flink-python and
`HADOOP_CLASSPATH` only (`pyflink_gateway_server.py`). So a local job puts the
reporter's jar on that classpath before the JVM starts (docs/metrics.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from skewless.flink.connectors import flink_home

REPORTER = "prom"
FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
CLUSTER_PORTS = "9249-9259"
"""A standalone cluster runs its JobManager and TaskManager on one host: each takes the first free port."""


def reporter_options(port: int | str) -> dict[str, str]:
    """Flink options that serve /metrics on `port` (a number or a range) from every JVM of the job."""
    return {f"metrics.reporter.{REPORTER}.factory.class": FACTORY, f"metrics.reporter.{REPORTER}.port": str(port)}


def reporter_jar() -> Path:
    jars = sorted((flink_home() / "plugins" / "metrics-prometheus").glob("flink-metrics-prometheus-*.jar"))
    if not jars:
        raise FileNotFoundError(f"no Prometheus reporter jar under {flink_home() / 'plugins'}: reinstall apache-flink")
    return jars[0]


def put_reporter_on_local_classpath() -> None:
    """Read by PyFlink when it starts the JVM: call before the first job in this process."""
    jar = str(reporter_jar())
    current = os.environ.get("HADOOP_CLASSPATH", "")
    if jar not in current.split(os.pathsep):
        os.environ["HADOOP_CLASSPATH"] = os.pathsep.join(p for p in (current, jar) if p)


OPERATOR = "flink_taskmanager_job_task_operator_"
"""Flink's prefix for an operator's metrics; its labels name the job, task and subtask."""

METRICS: dict[str, str] = {
    f"{OPERATOR}deserializer_skewless_topic_records_in_total": "messages read, valid or not; label topic",
    f"{OPERATOR}skewless_topic_records_out_total": "score records written; label topic",
    f"{OPERATOR}skewless_rule_dead_letters_total": "messages dead-lettered; label rule (udfs/validation.py)",
    f"{OPERATOR}skewless_topic_partition_consumer_lag_records": "end offset minus the next offset to read; labels topic, partition",
    f"{OPERATOR}skewless_score_latency_ms": "event time to scored_at, summary over the last 10,000 scores; label quantile",
    f"{OPERATOR}skewless_score_latency_ms_count": "scores in the latency summary",
    f"{OPERATOR}skewless_feature_view_quantile_feature_freshness_ms":
        "online_at - event_time of the last 10,000 online rows; labels feature_view, quantile",
    f"{OPERATOR}skewless_model_version_serving_model": "1 for the version serving, 0 for others seen; label model_version",
    f"{OPERATOR}skewless_model_version_scores_total": "scores per model version; label model_version",
    f"{OPERATOR}skewless_model_age_seconds": "age of the serving model (since it was saved)",
    f"{OPERATOR}skewless_alerts_total": "scores at or above the decision threshold",
    f"{OPERATOR}skewless_alert_rate": "alerts among the last 10,000 scores",
    f"{OPERATOR}skewless_feature_drift_psi": "PSI of the last closed drift window; label feature (score included)",
    f"{OPERATOR}skewless_drift_windows_total": "drift windows closed",
    f"{OPERATOR}skewless_drift_windows_drifted_total": "drift windows above the threshold",
    f"{OPERATOR}skewless_drift_rows_late_total": "scores for a drift window already closed",
}
"""Every metric skewless publishes, as Prometheus names it (docs/metrics.md; the Grafana dashboard reads these)."""
