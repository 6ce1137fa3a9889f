"""`skewless models list | show | promote | rollback`, `skewless learn` and `skewless scores tail`."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict

import click
from kafka.errors import KafkaError

from cli.context import Context, pass_context
from models.learner import Learner
from models.online import UpdatePolicy
from models.registry import Registry
from models.updates import publish
from skewless.errors import SkewlessError
from skewless.messaging.producer import true_end_offsets
from skewless.messaging.topics import read_json


@click.group()
def models() -> None:
    """The model registry under the data directory (XGBoost UBJ + metadata + checksum)."""


def _registry(ctx: Context) -> Registry:
    return Registry(ctx.settings.models_dir)


@models.command(name="list")
@pass_context
def list_models(ctx: Context) -> None:
    """Every version, its parent, test metrics, and which one is serving."""
    registry = _registry(ctx)
    current = registry.current()
    ctx.emit([
        {"version": m.version, "current": "*" if m.version == current else "", "parent": m.parent or "",
         "created": m.created_at, "test AP": round(m.metrics.get("average_precision", float("nan")), 4),
         "test ROC AUC": round(m.metrics.get("roc_auc", float("nan")), 4), "training rows": m.training.get("rows")}
        for m in (registry.meta(v) for v in registry.versions())
    ])


@models.command()
@click.argument("version", required=False)
@pass_context
def show(ctx: Context, version: str | None) -> None:
    """One version's metadata (default: the current one)."""
    registry = _registry(ctx)
    version = version or registry.current()
    if version is None:
        raise SkewlessError(f"no model in {registry.root}: run `skewless train` first")
    click.echo(json.dumps(asdict(registry.meta(version)), indent=2))


def _make_current(ctx: Context, version: str) -> None:
    """Checksum first, then the registry pointer, then the broadcast to running stream jobs."""
    registry = _registry(ctx)
    registry.load(version)
    registry.promote(version)
    try:
        publish(ctx.settings, version)
    except (KafkaError, SkewlessError) as exc:  # no broker, or no signing key
        click.echo(f"warning: {version} is current on disk, but no running stream job was told "
                   f"({ctx.settings.topics.model_updates}: {exc})", err=True)


@models.command()
@click.argument("version")
@pass_context
def promote(ctx: Context, version: str) -> None:
    """Make VERSION current, in the registry and in running stream jobs (no restart)."""
    _make_current(ctx, version)
    click.echo(f"{version} is now current")


@models.command()
@pass_context
def rollback(ctx: Context) -> None:
    """Make the current version's parent current again, in running stream jobs too."""
    registry = _registry(ctx)
    current = registry.current()
    parent = registry.meta(current).parent if current else None
    if parent is None:
        raise SkewlessError(f"{current or 'no model'} has no parent version to roll back to")
    _make_current(ctx, parent)
    click.echo(f"rolled back from {current} to {parent}")


@click.command()
@click.option("--every-labels", default=500, show_default=True, help="Propose a candidate after this many new labels.")
@click.option("--every-seconds", default=300.0, show_default=True, help="... or this often, if any label came in.")
@click.option("--once", is_flag=True, help="Read what the topics hold until idle, propose once, exit.")
@click.option("--from-beginning", is_flag=True,
              help="Read labels from the start (default: after the last label this learner's consumer group committed).")
@pass_context
def learn(ctx: Context, every_labels: int, every_seconds: float, once: bool, from_beginning: bool) -> None:
    """Keep the model fresh: labels joined with served features -> warm-started candidate -> gate -> promote."""
    policy = UpdatePolicy(threshold=ctx.settings.scoring.threshold)
    learner = Learner(ctx.settings, policy, every_labels, every_seconds)
    try:
        report = learner.run(once=once, from_beginning=from_beginning)
    except KeyboardInterrupt:
        report = learner.report
    dropped = ", ".join(f"{rule} {n}" for rule, n in sorted(report.labels_dropped.items())) or "none"
    ctx.emit({"scores read": report.scores_read, "labels read": report.labels_read, "labels dropped": dropped,
              "labelled served rows": report.labelled}, title="learn")
    if report.decisions:
        ctx.emit(report.decisions, title="\ndecisions")


SEEN_TX_IDS = 1_000_000
"""How many recent tx_ids `scores tail` remembers to drop repeats: far more than a restart replays."""


@click.group()
def scores() -> None:
    """The `fraud-scores` topic."""


@scores.command()
@click.option("-n", "--lines", default=10, show_default=True, help="Records per partition to start from, back from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new scores until Ctrl-C.")
@pass_context
def tail(ctx: Context, lines: int, follow: bool) -> None:
    """The newest scores, one JSON record per line (pipe it into jq), each transaction once.

    At-least-once sinks (the embedded broker) can repeat a score after a restart: a
    repeat has the same tx_id, and only the first is printed.
    """
    s = ctx.settings
    ends = true_end_offsets(s, s.topics.scores, s.topics.partitions)
    start = {p: max(0, end - lines) for p, end in ends.items()}
    idle_s = 365 * 86_400.0 if follow else 2.0
    seen: OrderedDict[str, None] = OrderedDict()
    try:
        for record in read_json(s, s.topics.scores, from_offsets=start, idle_timeout_s=idle_s, deadline_s=idle_s):
            if record["tx_id"] in seen:
                continue
            seen[record["tx_id"]] = None
            if len(seen) > SEEN_TX_IDS:
                seen.popitem(last=False)
            click.echo(json.dumps(record, separators=(",", ":")))
    except KeyboardInterrupt:
        pass


COMMANDS = (models, learn, scores)
