"""`skewless up | down | status`: the embedded stack (broker, topics, Feast repo, connector jars)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from cli.context import Context, pass_context
from models.drift import SCORE
from models.registry import Registry
from models.updates import ensure_update_key
from skewless.featurestore.store import apply_definitions
from skewless.flink.connectors import kafka_connector_jars
from skewless.flink.job_status import job_status
from skewless.flink.preflight import check_java, check_python
from skewless.messaging.broker import EmbeddedBroker
from skewless.messaging.topics import ensure_topics, existing_topics, topic_names

TOP_DRIFTING = 3


@click.command()
@pass_context
def up(ctx: Context) -> None:
    """Start the embedded broker, create topics, register features with Feast. Idempotent."""
    s = ctx.settings
    check_python()
    check_java()
    broker = "external"
    if s.kafka.embedded:
        status = EmbeddedBroker(s).start()
        broker = f"embedded (pid {status.pid})" if status.pid else "already running"
    created = ensure_topics(s)
    key_file = ensure_update_key(s) if s.kafka.embedded else None
    jars = kafka_connector_jars()
    apply_definitions(s)
    ctx.emit({
        "broker": f"{s.kafka.bootstrap_servers} {broker}",
        "topics created": ", ".join(created) or "none (all exist)",
        "flink": "local mini-cluster, started per job",
        "kafka connector": str(jars[0].parent),
        "feast repo": f"{s.feature_repo} (applied)",
        "data dir": str(s.data_dir),
        "model updates": f"signed with the key in {key_file}" if key_file else "signed with the configured key, if any",
    }, title="skewless is up")


@click.command()
@pass_context
def down(ctx: Context) -> None:
    """Stop the embedded broker (its topics are in memory and are lost)."""
    stopped = EmbeddedBroker(ctx.settings).stop()
    ctx.emit({"broker": "stopped" if stopped else "was not running (started by this data dir)"})


def _age_s(created_at: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(created_at)).total_seconds()


def loop_status(ctx: Context) -> dict[str, Any]:
    """The stack, the running stream job's own metrics, the model and its last gate decision."""
    s = ctx.settings
    broker = EmbeddedBroker(s).status()
    topics = existing_topics(s) if broker.reachable else []
    registry = Registry(s.models_dir)
    current = registry.current()
    job = job_status(s)
    top = sorted(((psi, name) for name, psi in job.drift_psi.items() if name != SCORE), reverse=True)[:TOP_DRIFTING]
    return {
        "broker": f"{broker.bootstrap} " + ("up" if broker.reachable else "down") + (f" (pid {broker.pid})" if broker.pid else ""),
        "topics": ", ".join(t for t in topic_names(s) if t in topics) or "-",
        "feast registry": "applied" if (s.data_dir / "feast" / "registry.db").exists() else "not applied (run `skewless up`)",
        "model": current or "none (run `skewless train`)",
        "model age s": round(_age_s(registry.meta(current).created_at)) if current else None,
        "last gate": registry.last_gate(),
        "flink": f"cluster at {s.flink.jobmanager}" if s.flink.jobmanager else "local mini-cluster, started per job",
        "stream": {
            "state": job.state, "job id": job.job_id, "rest": job.rest, "uptime s": round(job.uptime_s),
            "restarts": job.restarts, "serving model": job.serving_model, "model age s": round(job.model_age_s),
            "lag": job.lag, "freshness ms": job.freshness_ms, "dead letters": job.dead_letters, "records": job.records,
            "score psi": job.drift_psi.get(SCORE), "top drifting": {name: psi for psi, name in top},
        },
    }


def _readable(status: dict[str, Any]) -> dict[str, str]:
    """One line a field: the same content as the JSON, for a terminal."""
    stream, gate = status["stream"], status["last gate"]
    lines = {k: status[k] for k in ("broker", "topics", "feast registry", "flink")}
    lines["model"] = status["model"] + (f", {_duration(status['model age s'])} old" if status["model age s"] is not None else "")
    lines["last gate"] = (f"{gate.get('promoted') or 'kept ' + gate['serving']}: {gate['reason']} ({gate['trigger']})"
                          if gate else "none yet (`skewless learn` decides)")
    if stream["state"] == "NOT RUNNING":
        lines["stream"] = "not running (`skewless stream`, or `skewless submit stream` on a cluster)"
        return lines
    lines["stream"] = (f"{stream['state']} job {stream['job id']}, up {_duration(stream['uptime s'])}, "
                       f"{stream['restarts']} restarts, REST {stream['rest']}")
    lines["serving"] = f"{stream['serving model'] or '-'}, {_duration(stream['model age s'])} old"
    lines["lag (records)"] = "; ".join(
        f"{topic} " + " ".join(f"p{p}={n}" for p, n in sorted(parts.items(), key=lambda kv: int(kv[0])))
        for topic, parts in sorted(stream["lag"].items())) or "-"
    lines["freshness"] = "; ".join(
        f"{view} p50 {q.get('p50', 0):.0f} / p99 {q.get('p99', 0):.0f} ms" for view, q in sorted(stream["freshness ms"].items())) or "-"
    lines["drift (PSI)"] = (f"score {stream['score psi']:.3f}; " if stream["score psi"] is not None else "") + (
        ", ".join(f"{name} {psi:.3f}" for name, psi in stream["top drifting"].items()) or "no window closed yet")
    lines["dead letters"] = ", ".join(f"{rule} {n}" for rule, n in sorted(stream["dead letters"].items())) or "0"
    return lines


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


@click.command()
@pass_context
def status(ctx: Context) -> None:
    """The whole loop on one screen: the stack, the stream job (state, lag, freshness, drift, dead letters), the model."""
    loop = loop_status(ctx)
    ctx.emit(loop if ctx.output == "json" else _readable(loop))


COMMANDS = (up, down, status)
