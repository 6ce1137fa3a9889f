"""`skewless up | down | status`: the embedded stack (broker, topics, Feast repo, connector jars)."""

from __future__ import annotations

import click

from cli.context import Context, pass_context
from models.registry import Registry
from skewless.broker import EmbeddedBroker
from skewless.connectors import kafka_connector_jars
from skewless.feast_store import apply_definitions
from skewless.model_updates import ensure_update_key
from skewless.preflight import check_java, check_python
from skewless.topics import ensure_topics, existing_topics, topic_names


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


@click.command()
@pass_context
def status(ctx: Context) -> None:
    """What is running and what exists."""
    s = ctx.settings
    broker = EmbeddedBroker(s).status()
    topics = existing_topics(s) if broker.reachable else []
    registry = Registry(s.models_dir)
    ctx.emit({
        "broker": f"{broker.bootstrap} " + ("up" if broker.reachable else "down") + (f" (pid {broker.pid})" if broker.pid else ""),
        "topics": ", ".join(t for t in topic_names(s) if t in topics) or "-",
        "feast registry": "applied" if (s.data_dir / "feast" / "registry.db").exists() else "not applied (run `skewless up`)",
        "model": registry.current() or "none (run `skewless train`)",
        "flink": "local mini-cluster, started per job",
    })


COMMANDS = (up, down, status)
