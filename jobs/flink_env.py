"""A Flink table environment configured from the settings, for either job.

Both jobs run Flink's streaming runtime, a bounded source in streaming mode ends on
its own, and both run the same feature engine (its jar is on `pipeline.jars`), which is
what makes backfill and stream rows identical.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Literal

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.table import EnvironmentSettings, StreamTableEnvironment

from jobs.engine_jar import engine_jar
from skewless.config import Settings
from skewless.flink.connectors import kafka_connector_jars
from skewless.flink.preflight import check_java
from skewless.flink.prometheus import put_reporter_on_local_classpath, reporter_options

Profile = Literal["latency", "throughput"]

PYTHON_WORKER_MODE = "_python_worker_execution_mode"
JVM_ARGS = "JVM_ARGS"

THROUGHPUT_BUNDLE = {"bundle_time_ms": 1000, "bundle_size": 100_000, "arrow_batch_size": 10_000}


def flink_options(settings: Settings, profile: Profile) -> dict[str, str]:
    f = settings.flink
    bundle = (
        {"bundle_time_ms": f.bundle_time_ms, "bundle_size": f.bundle_size, "arrow_batch_size": f.arrow_batch_size}
        if profile == "latency" else THROUGHPUT_BUNDLE
    )
    jars = [engine_jar(), *kafka_connector_jars(), *f.jars]
    options = {
        "parallelism.default": str(f.parallelism),
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "python.fn-execution.bundle.time": str(bundle["bundle_time_ms"]),
        "python.fn-execution.bundle.size": str(bundle["bundle_size"]),
        "python.fn-execution.arrow.batch.size": str(bundle["arrow_batch_size"]),
        "execution.buffer-timeout.interval": f"{f.buffer_timeout_ms} ms" if profile == "latency" else "100 ms",
        "pipeline.auto-watermark-interval": f"{f.watermark_interval_ms} ms",
        "pipeline.jars": ";".join(jar.resolve().as_uri() for jar in jars),
        "table.local-time-zone": "UTC",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": str(f.restart_attempts),
        "restart-strategy.fixed-delay.delay": "2 s",
        # Chained operators hand records over without a defensive copy (the copies were a seventh
        # of the stream's CPU). Safe here: nothing keeps a record it received from a chained
        # operator; the engine keeps rows that arrive over a keyed exchange, always fresh objects.
        "pipeline.object-reuse": "true",
    }
    return options


def _jvm_environment(settings: Settings) -> None:
    """What the JVM reads when it starts, so set before: where Flink logs, and the local Prometheus reporter."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FLINK_LOG_DIR", str(settings.logs_dir))
    if settings.metrics.prometheus_local:
        put_reporter_on_local_classpath()


def free_port() -> int:
    """A free TCP port on 127.0.0.1: for the local REST API, and for the servers tests start (broker, Flink, Redis)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_endpoints(settings: Settings, rest_port: int) -> dict[str, str]:
    """Options for a long-running local job: its REST API on 127.0.0.1 (what `skewless status` reads) and,
    by setting, the Prometheus endpoint. A cluster has both in its own configuration."""
    options = {"rest.address": "127.0.0.1", "rest.bind-address": "127.0.0.1", "rest.port": str(rest_port)}
    if settings.metrics.prometheus_local:
        options.update(reporter_options(settings.metrics.prometheus_port))
    return options


class LocalStart:
    """The JVM and the mini-cluster of one bounded local job, started in the background (`start_local`).

    A fresh process spends seconds starting the JVM, 0.8 s more making its first
    execution environment (class loading on both sides of the gateway), and 2-3 s
    starting Flink's mini-cluster when the job is submitted (measured): the backfill
    stages its history meanwhile. The cluster is the one Flink's local executor would
    start for the job, from the same configuration; it runs one job (`execute`) and closes.
    """

    def __init__(self, settings: Settings, profile: Profile, extra: dict[str, str] | None) -> None:
        self.cluster = None  # the Java `skewless.engine.LocalCluster`, once started
        self.started = threading.Event()
        threading.Thread(target=self._start, args=(settings, profile, extra), name="skewless-local-start", daemon=True).start()

    def _start(self, settings: Settings, profile: Profile, extra: dict[str, str] | None) -> None:
        try:
            config = _configuration(settings, profile, extra)
            StreamExecutionEnvironment.get_execution_environment(config)  # puts the engine's jar on the classpath
            self.cluster = get_gateway().jvm.skewless.engine.LocalCluster.start(config._j_configuration)
        except Exception:  # noqa: BLE001 - the job then starts its own cluster, and reports what fails
            pass
        finally:
            self.started.set()

    def execute(self, env: StreamExecutionEnvironment | StreamTableEnvironment, name: str) -> None:
        """Run the job built on `env` on this cluster, or on one of its own if this one could not start."""
        self.started.wait()
        cluster, self.cluster = self.cluster, None
        if cluster is None:
            java_env(env).execute(name)
        else:
            cluster.execute(java_env(env), name)

    def close(self) -> None:
        """Stop the cluster if no job ran on it (the caller failed first)."""
        self.started.wait()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def start_local(settings: Settings, profile: Profile, extra: dict[str, str] | None = None) -> LocalStart:
    """Start a backfill's JVM and mini-cluster in the background; build its job with the same `profile` and `extra`.

    The JVM gets `flink.backfill_jvm_options` unless one is running already (a process
    that streams after a backfill, as `skewless demo` does, keeps them).
    """
    check_java()
    _jvm_environment(settings)
    ours, theirs = settings.flink.backfill_jvm_options, os.environ.get(JVM_ARGS, "")
    if ours not in theirs:  # PyFlink's gateway launcher reads JVM_ARGS; the environment's come last and win
        os.environ[JVM_ARGS] = f"{ours} {theirs}".strip()
    return LocalStart(settings, profile, extra)


def stop_jvm() -> None:
    """Stop the JVM PyFlink started in this process, if it did: a command's last step.

    Left to the interpreter's exit, tearing down the gateway took 0.5 s more of every
    `skewless backfill` (measured).
    """
    from pyflink import java_gateway

    gateway = getattr(java_gateway, "_gateway", None)  # PyFlink keeps its one gateway here
    if gateway is not None:
        gateway.shutdown()


def _configuration(settings: Settings, profile: Profile, extra: dict[str, str] | None) -> Configuration:
    options = {**flink_options(settings, profile), **(extra or {}), **settings.flink.options}  # -D wins
    config = Configuration()
    for key, value in options.items():
        config.set_string(key, value)
    return config


def create_stream_env(settings: Settings, profile: Profile, extra: dict[str, str] | None = None) -> StreamExecutionEnvironment:
    """A DataStream environment configured from the settings: enough for a job without SQL (the backfill
    of a time-ordered history), which so skips the table planner's start (1 s, measured)."""
    check_java()
    _jvm_environment(settings)
    # PyFlink runs a local job's Python operators inside the submitting process by default ("loopback"):
    # one interpreter, one GIL, for every subtask and for the caller's own work. Workers of their own, as
    # on a cluster, drained a backlog 18-22% faster at -p 2 (docs/stack.md). PyFlink reads this switch
    # when the table environment is created, and only from the environment.
    os.environ[PYTHON_WORKER_MODE] = "process"
    return StreamExecutionEnvironment.get_execution_environment(_configuration(settings, profile, extra))


def create_table_env(settings: Settings, profile: Profile, extra: dict[str, str] | None = None) -> StreamTableEnvironment:
    """A table environment over a DataStream environment: `jobs.event_time` converts between the two."""
    env = create_stream_env(settings, profile, extra)
    return StreamTableEnvironment.create(env, EnvironmentSettings.in_streaming_mode())  # reads the same options


def java_env(env: StreamExecutionEnvironment | StreamTableEnvironment):  # -> the Java StreamExecutionEnvironment
    """The Java execution environment under either Python one, which the engine's classes build on."""
    if isinstance(env, StreamTableEnvironment):
        return env._j_tenv.execEnv()
    return env._j_stream_execution_environment
