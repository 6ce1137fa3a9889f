"""One typed configuration object for every command and job.

Precedence, lowest first: built-in defaults (the embedded stack), a YAML file
(`skewless.yaml` in the working directory or `--config`), `SKEWLESS_*`
environment variables (nested keys joined by `__`, e.g.
`SKEWLESS_KAFKA__BOOTSTRAP_SERVERS`), then CLI flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from skewless.errors import SkewlessError

DEFAULT_CONFIG_FILE = "skewless.yaml"
ENV_PREFIX = "SKEWLESS_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Topics(_Section):
    transactions: str = "transactions"
    labels: str = "fraud-labels"
    scores: str = "fraud-scores"
    model_updates: str = "model-updates"
    dead_letters: str = "transactions-dlq"
    label_dead_letters: str = "fraud-labels-dlq"
    late_transactions: str = "transactions-late"
    late_labels: str = "fraud-labels-late"
    drift: str = "model-drift"
    partitions: int = Field(2, ge=1)
    """Partitions of each topic skewless creates: at least the largest parallelism planned (a source subtask
    without a partition idles). Two by default, the parallelism of a 2-core machine: a producer sends a batch
    per partition, and the embedded broker lists every batch of a partition on each fetch, so half the
    partitions halve what each read costs it (docs/stack.md, "The embedded broker")."""


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    embedded: bool = True
    """Start the PyPI broker on `skewless up`; False when pointing at a real Kafka."""
    fetch_max_wait_ms: int = Field(50, ge=0)
    """How long the job's consumers let the broker wait for records. The embedded broker sleeps out
    the whole wait on every fetch and lists every batch of the partition on each (docs/stack.md):
    at 20 ms its fetches took 110-160% of the two cores as the topics grew and stalled the stream for seconds;
    at 50 ms its p99 arrival-to-score fell by 40% in probes. Apache Kafka answers as soon as records arrive."""
    producer_linger_ms: int = Field(20, ge=0)
    """How long `skewless produce` gathers records into one batch per partition. The embedded broker
    reads a partition by listing every batch it holds (docs/stack.md): many one-record batches make
    each read slower than the last, and the stream's latency with it. Counted in the arrival-to-score
    latency: a record's timestamp is taken when it is handed to the producer, before it waits."""
    consumer_group: str = "skewless-stream"
    delivery_guarantee: Literal["at-least-once", "exactly-once"] = "at-least-once"
    """The stream's Kafka sinks. exactly-once writes in Kafka transactions committed at each
    checkpoint (Apache Kafka; readers use read_committed). The embedded broker cannot hide
    aborted records (docs/stack.md): there, at-least-once, and readers drop repeated tx_ids."""


class FlinkSettings(_Section):
    jobmanager: str | None = None
    """host:port of a Flink cluster's REST endpoint for `skewless submit` and `jobs`; None: the local mini-cluster."""
    parallelism: int = Field(1, ge=1)
    jars: list[Path] = []
    """Extra jars; the Kafka connector is found or fetched automatically."""
    bundle_time_ms: int = Field(20, ge=1)
    bundle_size: int = Field(1000, ge=1)
    arrow_batch_size: int = Field(1000, ge=1)
    buffer_timeout_ms: int = Field(5, ge=0)
    watermark_interval_ms: int = Field(50, ge=1)
    restart_attempts: int = Field(3, ge=0)
    """A failing job is retried this often, then fails (Flink's default with checkpoints is forever)."""
    backfill_jvm_options: str = "-XX:-TieredCompilation -XX:+UseParallelGC"
    """Options of the JVM a local backfill starts (before any `JVM_ARGS` of the environment). A fresh
    JVM's JIT compiled ~7,000 methods, 15 s of compiler time, during a 13 s backfill; compiling only
    the hot ones, once, with C2 made the backfill 1 s faster and steadier. A backfill is a batch:
    the throughput collector, without G1's write barriers and concurrent threads, made it 1.3 s
    faster again (docs/stack.md). Not for the stream: its SQL start-up stays interpreted longer
    with C2 alone, and a stream wants short pauses. A cluster's JVMs take theirs from its own configuration."""
    options: dict[str, str] = {}
    """Passed verbatim to Flink (`-D key=value` on the CLI)."""


class FeatureSettings(_Section):
    allowed_lateness_ms: int = Field(100, ge=0)
    """Watermark delay: events up to this much out of order get identical features in both modes.
    Every score waits this long for the watermark, so it is also the floor of stream latency."""
    silence_release_ms: int = Field(500, ge=0)
    """Stream only: a source subtask that has read nothing for this long moves its watermark to the
    newest event time it read, so the last rows before a pause are scored without waiting for
    more traffic (0: never; event time then moves only with events)."""
    labels_idle_timeout_s: int = Field(10, ge=0)
    """A labels partition silent this long stops holding back the watermark (0: never).
    Without it, a stream with no chargebacks flowing would score nothing. Finite runs
    (demo, parity) do not use it: their label partitions end."""


class OnlineStoreSettings(_Section):
    type: Literal["repo", "redis"] = "repo"
    """repo: what feature_repo/feature_store.yaml declares (sqlite under data/ by default);
    redis: Feast's Redis online store at `redis`, the same definitions otherwise."""
    redis: str = "127.0.0.1:6379"
    """host:port[,db=N] (Feast's connection string)."""
    redis_password: SecretStr | None = None
    """From the environment (`SKEWLESS_ONLINE_STORE__REDIS_PASSWORD`): never logged, never written by `submit`."""

    def redis_connection(self) -> str:
        password = self.redis_password.get_secret_value() if self.redis_password else None
        return f"{self.redis},password={password}" if password else self.redis


class ModelUpdateSettings(_Section):
    key: SecretStr | None = None
    """HMAC-SHA256 key that signs models on `model-updates` (`SKEWLESS_MODEL_UPDATES__KEY`).
    Unset: the key file `skewless up` creates in the data directory. Never logged, never
    written by `submit`; without either, running jobs refuse every update."""


class ScoringSettings(_Section):
    policy: Literal["fixed", "budget", "cost"] = "fixed"
    """How `skewless train` sets the model's decision threshold (`models.policy`); stored with the model."""
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    """The `fixed` policy's threshold, and the one a model stored without a rule is served with."""
    alert_budget_cards_per_day: int = Field(100, ge=1)
    """The `budget` policy: cards a team reviews a day."""
    review_cost: float = Field(5.0, ge=0.0)
    """The `cost` policy: what one alert's review costs, in the amounts' currency."""
    override_threshold: float | None = Field(None, ge=0.0, le=1.0)
    """Set: the stream decides with this threshold (policy "override"), whatever the model stored."""


class DriftSettings(_Section):
    window_s: int = Field(3600, ge=60)
    """PSI is computed per tumbling window of event time this long (`models.drift`)."""
    grace_s: int = Field(60, ge=0)
    """A window is closed once scores this much newer than its end have been seen."""
    threshold: float = Field(0.25, gt=0.0)
    """A window drifted when the score's or any feature's PSI is above this (0.25: a major shift)."""
    min_rows: int = Field(200, ge=1)
    """A window with fewer scored rows is reported but never called drifted: its PSI is mostly noise."""


class MetricsSettings(_Section):
    prometheus_port: int = Field(9249, ge=1, le=65535)
    """Where Flink's Prometheus reporter serves /metrics: on a cluster always, locally when `prometheus_local`."""
    prometheus_local: bool = False
    """Serve /metrics from the local mini-cluster too (`skewless stream`); off by default, one port per machine."""
    local_rest_port: int = Field(0, ge=0, le=65535)
    """The local mini-cluster's REST port, on 127.0.0.1, that `skewless status` reads; 0 picks a free one."""


class Settings(_Section):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = Path("data")
    feature_repo: Path = Path("feature_repo")
    kafka: KafkaSettings = KafkaSettings()
    topics: Topics = Topics()
    flink: FlinkSettings = FlinkSettings()
    features: FeatureSettings = FeatureSettings()
    scoring: ScoringSettings = ScoringSettings()
    drift: DriftSettings = DriftSettings()
    metrics: MetricsSettings = MetricsSettings()
    online_store: OnlineStoreSettings = OnlineStoreSettings()
    model_updates: ModelUpdateSettings = ModelUpdateSettings()

    @field_validator("data_dir", "feature_repo")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        """Resolved once, against the directory skewless started in: Flink workers and Feast run elsewhere."""
        return path.expanduser().resolve()

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def history_dir(self) -> Path:
        return self.data_dir / "history"

    @property
    def offline_dir(self) -> Path:
        """Where backfilled features land; Feast's FileSources point here."""
        return self.data_dir / "offline"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def checkpoints_dir(self) -> Path:
        """One folder per consumer group: two stream jobs on one data directory never resume each other's state."""
        return self.data_dir / "checkpoints" / self.kafka.consumer_group

    @property
    def model_update_key_file(self) -> Path:
        return self.data_dir / "secrets" / "model-updates.key"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def stream_status_file(self) -> Path:
        """Where a local `skewless stream` says which job it runs and where its REST API listens."""
        return self.data_dir / "stream.json"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return overrides


def _read_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SkewlessError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise SkewlessError(f"config file {path} must hold a mapping at the top level")
    return loaded


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from file, environment and CLI overrides (in that order)."""
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(environ[ENV_PREFIX + "CONFIG"])
    if config_file is None and Path(DEFAULT_CONFIG_FILE).exists():
        config_file = Path(DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.exists():
            raise SkewlessError(f"config file {config_file} does not exist")
        data = _read_file(config_file)
    data = _deep_merge(data, _env_overrides(environ))
    data = _deep_merge(data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SkewlessError(f"invalid configuration: {problems}") from None
