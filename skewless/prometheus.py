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

from skewless.connectors import flink_home

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
