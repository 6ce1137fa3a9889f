"""What a running stream job says about itself, read the same way locally and on a cluster.

Both read Flink's REST API: a cluster's at `flink.jobmanager`; a local `skewless stream`
serves its mini-cluster's on 127.0.0.1 and writes where, and which job, to
`Settings.stream_status_file`. The figures are the job's own metrics
(docs/metrics.md), summed or maxed over subtasks, so `skewless status`, Prometheus
and Grafana show the same numbers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.flink.rest import FlinkRest
from udfs.units import MS_PER_S, now_ms
from udfs.validation import RECORDS, rule_names

JOB_NAME = "skewless stream"
_OURS = ".skewless."
_LAG = re.compile(r"^topic\.(?P<topic>.+)\.partition\.(?P<partition>\d+)\.consumer_lag_records$")
_FRESHNESS = re.compile(r"^feature_view\.(?P<view>.+)\.quantile\.(?P<q>[\d_]+)\.feature_freshness_ms$")
_PERCENTILES = {"0_5": "p50", "0_99": "p99"}
"""Flink writes the quantile label 0.5 as 0_5 in a metric's REST id."""
_DEAD = re.compile(r"^rule\.(?P<rule>.+)\.dead_letters_total$")
_RULES = {name.replace(".", "_"): name for kind in RECORDS for name in rule_names(kind)}
"""Flink writes the dots of a metric group's value as '_' (`record.json` as `record_json`): the declared names back."""
_SERVING = re.compile(r"^model_version\.(?P<version>.+)\.serving_model$")
_PSI = re.compile(r"^feature\.(?P<feature>.+)\.drift_psi$")
_RECORDS = re.compile(r"^topic\.(?P<topic>.+)\.records_(?P<way>in|out)_total$")


@dataclass(frozen=True)
class LocalJob:
    job_id: str
    rest: str
    pid: int
    started_at_ms: int


def write_local_job(settings: Settings, job_id: str, rest: str) -> None:
    job = LocalJob(job_id, rest, os.getpid(), now_ms())
    settings.stream_status_file.parent.mkdir(parents=True, exist_ok=True)
    settings.stream_status_file.write_text(json.dumps(asdict(job)))


def read_local_job(settings: Settings) -> LocalJob | None:
    try:
        return LocalJob(**json.loads(settings.stream_status_file.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


@dataclass
class JobStatus:
    """One stream job, as `skewless status` shows it; `state` "NOT RUNNING" when none answers."""

    state: str
    job_id: str = ""
    rest: str = ""
    uptime_s: float = 0.0
    restarts: int = 0
    lag: dict[str, dict[str, int]] = field(default_factory=dict)
    freshness_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    serving_model: str = ""
    model_age_s: float = 0.0
    drift_psi: dict[str, float] = field(default_factory=dict)


def _locate(settings: Settings) -> tuple[FlinkRest, str] | None:
    """The REST API and id of the running stream job, or None."""
    if settings.flink.jobmanager:
        rest = FlinkRest(settings.flink.jobmanager)
        running = [j for j in rest.jobs() if j["name"] == JOB_NAME and j["state"] in ("RUNNING", "RESTARTING", "CREATED")]
        return (rest, running[0]["jid"]) if running else None
    local = read_local_job(settings)
    if local is None or not _alive(local.pid):
        return None
    return FlinkRest(local.rest), local.job_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def job_status(settings: Settings) -> JobStatus:
    try:
        located = _locate(settings)
        if located is None:
            return JobStatus("NOT RUNNING")
        rest, job_id = located
        return _read(rest, job_id)
    except SkewlessError:
        return JobStatus("NOT RUNNING")


def _read(rest: FlinkRest, job_id: str) -> JobStatus:
    job = rest.job(job_id)
    restarts = rest.job_metrics(job_id, ["numRestarts"]).get("numRestarts", "0")
    status = JobStatus(job["state"], job_id, rest.base, job.get("duration", 0) / MS_PER_S, int(float(restarts)))
    for vertex in job["vertices"]:
        ids = [m for m in rest.vertex_metric_ids(job_id, vertex["id"]) if _OURS in m]
        if ids:
            for metric_id, value in rest.vertex_metrics(job_id, vertex["id"], ids).items():
                _take(status, metric_id.split(_OURS, 1)[1], value)
    return status


def _take(status: JobStatus, name: str, value: dict[str, float]) -> None:
    """One of our metrics, `value` its sum and max over subtasks."""
    if m := _LAG.match(name):
        status.lag.setdefault(m["topic"], {})[m["partition"]] = int(value["sum"])
    elif m := _FRESHNESS.match(name):
        status.freshness_ms.setdefault(m["view"], {})[_PERCENTILES.get(m["q"], m["q"])] = value["max"]
    elif m := _DEAD.match(name):
        status.dead_letters[_RULES.get(m["rule"], m["rule"])] = int(value["sum"])
    elif m := _RECORDS.match(name):
        status.records.setdefault(m["topic"], {})[m["way"]] = int(value["sum"])
    elif (m := _SERVING.match(name)) and value["max"] >= 1:
        status.serving_model = m["version"]
    elif name == "model_age_seconds":
        status.model_age_s = value["max"]
    elif m := _PSI.match(name):
        status.drift_psi[m["feature"]] = value["max"]
