"""`skewless backfill | dataset | train | stream | parity | demo`: the loop, one command per stage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from cli.context import Context, pass_context
from cli.data import generate
from cli.stack import up
from jobs.backfill import run_backfill, stage_bootstrap
from jobs.checkpoints import latest_checkpoint
from jobs.drivers.finite_run import run_finite_stream
from jobs.drivers.parity import run_parity
from jobs.feature_docs import explain, features_markdown, find, record_parity
from jobs.feature_spec import engine_spec
from jobs.flink_env import free_port, local_endpoints
from jobs.stream import start_stream
from models.metrics import ALERT_BUDGET_CARDS
from models.policy import PolicySpec
from models.search import SPACE as SEARCHED
from models.train import TrainingSet
from models.train import train as train_model
from skewless.errors import SkewlessError
from skewless.featurestore.datasets import Dataset, build_dataset
from skewless.featurestore.store import read_online, served_features_dir
from skewless.flink.job_status import write_local_job
from skewless.messaging.topics import read_json
from skewless.synthetic.history import LABELS_FILE, TRANSACTIONS_FILE, live_batch, load_population
from udfs.features import CARD, FEATURES, includes_current
from udfs.units import MS_PER_S, now_ms, s_to_ms


def _default_labels(ctx: Context, history: Path | None, labels: Path | None) -> Path | None:
    """The generated labels go with the generated history; another history brings its own (or none)."""
    if labels is not None or history is not None:
        return labels
    return ctx.settings.history_dir / LABELS_FILE


_labels_option = click.option(
    "--labels", "labels_path", type=click.Path(path_type=Path),
    help="Labels file (tx_id, merchant_id, is_fraud, label_time) [the generated one with the generated history].",
)


@click.command()
@click.argument("history", required=False, type=click.Path(path_type=Path))
@_labels_option
@click.option("--as-arrived", is_flag=True,
              help="Take the file's row order as arrival order: rows later than the allowed lateness go to the late file.")
@click.option("--materialize", is_flag=True, help="Also write each card's and merchant's newest values to the online store.")
@pass_context
def backfill(ctx: Context, history: Path | None, labels_path: Path | None, as_arrived: bool, materialize: bool) -> None:
    """Compute features over a history file (parquet/CSV) into Feast's offline store."""
    labels_path = _default_labels(ctx, history, labels_path)
    history = history or ctx.settings.history_dir / TRANSACTIONS_FILE
    result = run_backfill(ctx.settings, history, labels_path, as_arrived, materialize)
    ctx.emit({
        "transactions read": result.rows_in,
        "set aside": f"{result.rows_rejected}" + (f" -> {result.rejected_path}" if result.rejected_path else ""),
        "late": f"{result.rows_late}" + (f" -> {result.late_dir}" if result.late_dir else ""),
        "feature rows": result.rows_out, "offline store": str(result.offline_path),
        "seconds": round(result.seconds, 1), "rows/s": round(result.rows_out / result.seconds),
    }, title="backfill done")


_TIME = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"])


def _ms(value: Any, default: int) -> int:
    return default if value is None else s_to_ms(pd.Timestamp(value, tz="UTC").timestamp())


def _dataset_options(command):
    for option in reversed((
        click.option("--start", type=_TIME, help="First event time included (UTC) [the beginning]."),
        click.option("--end", type=_TIME, help="Event times before this (UTC) [no end]."),
        click.option("--label-cutoff", type=_TIME, help="Use only labels known by then (UTC) [now]."),
        click.option("--source", type=click.Choice(["backfill", "served"]), default="backfill", show_default=True,
                     help="Features the backfill computed, or those the stream served."),
        click.option("--labels", "labels_path", type=click.Path(path_type=Path), help="Labels file [the generated one]."),
    )):
        command = option(command)
    return command


def _build(ctx: Context, start: Any, end: Any, label_cutoff: Any, source: str, labels_path: Path | None) -> Dataset:
    labels_path = labels_path or ctx.settings.history_dir / LABELS_FILE
    cutoff = _ms(label_cutoff, now_ms())
    return build_dataset(ctx.settings, labels_path, _ms(start, 0), _ms(end, 2**62), cutoff, source)


@click.command()
@_dataset_options
@click.option("--out", type=click.Path(path_type=Path), help="Parquet file to write [data/datasets/<source>-<cutoff>.parquet].")
@pass_context
def dataset(ctx: Context, start: Any, end: Any, label_cutoff: Any, source: str, labels_path: Path | None, out: Path | None) -> None:
    """A point-in-time-correct training set: transactions, their features as of then, labels known by the cutoff."""
    built = _build(ctx, start, end, label_cutoff, source, labels_path)
    cutoff = pd.Timestamp(built.label_cutoff_ms, unit="ms", tz="UTC")
    out = out or ctx.settings.data_dir / "datasets" / f"{source}-{cutoff:%Y%m%dT%H%M%S}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    built.frame.to_parquet(out, index=False)
    ctx.emit({
        "transactions in range": built.transactions, "labelled by the cutoff": len(built.frame),
        "left out (label not yet known)": built.unlabelled, "fraud": int(built.frame["is_fraud"].sum()),
        "label cutoff": cutoff.isoformat(), "written": str(out),
    }, title="dataset")


@click.command()
@_dataset_options
@click.option("--search", "search_candidates", type=click.IntRange(min=0), default=0, show_default=True,
              help="Try this many parameter sets on rolling time folds first (0: the defaults).")
@click.option("--folds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rolling folds for --search: each validates on a day after a label-delay gap.")
@pass_context
def train(ctx: Context, start: Any, end: Any, label_cutoff: Any, source: str, labels_path: Path | None,
          search_candidates: int, folds: int) -> None:
    """Train XGBoost on a `skewless dataset` (same options); register and promote the model."""
    built = _build(ctx, start, end, label_cutoff, source, labels_path)
    scoring = ctx.settings.scoring
    policy = PolicySpec(scoring.policy, scoring.threshold, scoring.alert_budget_cards_per_day, scoring.review_cost)
    meta = train_model(TrainingSet(built.frame, built.label_cutoff_ms), ctx.settings.models_dir, search_candidates, folds, policy)
    budget = f"at_{ALERT_BUDGET_CARDS}_per_day"
    summary = {
        "version": meta.version, "rows": meta.training["rows"], "positives": meta.training["positives"],
        "test average precision": round(meta.metrics["average_precision"], 4),
        "test ROC AUC": round(meta.metrics["roc_auc"], 4),
        f"test card precision @{ALERT_BUDGET_CARDS}/day": round(meta.metrics[f"card_precision_{budget}"], 4),
        f"test card recall @{ALERT_BUDGET_CARDS}/day": round(meta.metrics[f"card_recall_{budget}"], 4),
        "decision": f"{meta.decision['policy']} policy, threshold {meta.decision['threshold']:.4f}",
        "test fraud money caught / lost at it": round(meta.metrics["fraud_amount_caught_over_lost"], 2),
        "features": ", ".join(meta.features),
    }
    if "search" in meta.training:
        searched = meta.training["search"]
        chosen = searched["candidates"][searched["chosen"]]
        summary |= {"searched": f"{len(searched['candidates'])} candidates, {len(searched['folds'])} folds",
                    "fold AP, defaults": round(searched["candidates"][0]["mean_ap"], 4),
                    "fold AP, chosen": round(chosen["mean_ap"], 4),
                    "chosen": ", ".join(f"{k}={v}" for k, v in chosen["params"].items() if k in SEARCHED),
                    "trees": meta.training["rounds"]}
    ctx.emit(summary, title="model trained")


@click.command()
@click.option("--bootstrap", "bootstrap_history", type=click.Path(path_type=Path),
              help="Read this history (and --labels) first, so windows start full; emit only what comes after it.")
@_labels_option
@click.option("--resume", is_flag=True,
              help="Start from the newest retained checkpoint: windows and offsets as the last run left them.")
@pass_context
def stream(ctx: Context, bootstrap_history: Path | None, labels_path: Path | None, resume: bool) -> None:
    """Run the streaming job on the local mini-cluster until interrupted (Ctrl-C)."""
    bootstrap, checkpoint = None, None
    if resume and bootstrap_history:
        raise SkewlessError("--resume and --bootstrap exclude each other: a resumed job's windows are already full")
    if resume:
        checkpoint = latest_checkpoint(ctx.settings)
        click.echo(f"resuming from {checkpoint}")
    if bootstrap_history:
        bootstrap = stage_bootstrap(ctx.settings, bootstrap_history, labels_path, now_ms())
    rest_port = ctx.settings.metrics.local_rest_port or free_port()
    job = start_stream(ctx.settings, bootstrap=bootstrap, resume_from=checkpoint,
                       extra=local_endpoints(ctx.settings, rest_port))
    job_id = str(job.get_job_client().get_job_id())
    write_local_job(ctx.settings, job_id, f"127.0.0.1:{rest_port}")
    click.echo(f"Job has been submitted with JobID {job_id}")
    if ctx.settings.metrics.prometheus_local:
        click.echo(f"metrics: http://127.0.0.1:{ctx.settings.metrics.prometheus_port}/metrics")
    try:
        job.wait()
    except KeyboardInterrupt:
        job.get_job_client().cancel().result()
        click.echo(f"Job {job_id} cancelled")


def _percentiles_ms(scores: pd.DataFrame, until: str = "scored_at") -> dict[str, float]:
    """p50/p95/p99 of `until` minus the event time: latency (scored_at) or freshness (online_at, served log)."""
    latency = (scores[until] - scores["event_time"]).to_numpy()
    if len(latency) == 0:
        return {}
    return {f"p{q}": round(float(np.percentile(latency, q))) for q in (50, 95, 99)}


@click.command()
@click.option("--cards", default=2_000, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option("--live-count", default=2_000, show_default=True, help="Live transactions to stream (keep <= cards).")
@click.option("--rate", default=100.0, show_default=True, help="Live transactions per second.")
@click.pass_context
def demo(click_ctx: click.Context, cards: int, days: int, live_count: int, rate: float) -> None:
    """The whole loop: up, generate, backfill, train, stream live transactions, show scores."""
    ctx: Context = click_ctx.obj
    s = ctx.settings
    steps: list[tuple[str, float]] = []

    def step(name: str, started: float) -> None:
        steps.append((name, time.monotonic() - started))

    t = time.monotonic()
    click_ctx.invoke(up)
    step("up", t)
    t = time.monotonic()
    click_ctx.invoke(generate, cards=cards, merchants=max(50, cards // 5), days=days, tx_per_card_day=2.0, end=None, seed=42)
    step("generate", t)
    t = time.monotonic()
    click_ctx.invoke(backfill, history=None, labels_path=None, as_arrived=False, materialize=True)
    step("backfill", t)
    t = time.monotonic()
    click_ctx.invoke(train, start=None, end=None, label_cutoff=None, source="backfill", labels_path=None)
    step("train", t)

    t = time.monotonic()
    transactions, labels = live_batch(load_population(s), live_count, rate, seed=int(time.time()))
    click.echo(f"\nstreaming {len(transactions)} live transactions at {rate:.0f}/s through the Flink job ...")
    run = run_finite_stream(s, transactions, labels, send=lambda producer: producer.run(transactions, labels, label_delay_s=2.0))
    scores = pd.DataFrame(list(read_json(s, s.topics.scores, from_offsets=run.outputs_from[s.topics.scores], expect=len(transactions))))
    step("stream", t)

    span_s = max((scores["scored_at"].max() - scores["scored_at"].min()) / MS_PER_S, 1e-3)
    warm = scores[scores["event_time"] > scores["scored_at"].min()]
    served = pd.read_parquet(served_features_dir(s), columns=["tx_id", "event_time", "online_at"])
    served_warm = served[served["tx_id"].isin(warm["tx_id"])]
    ctx.emit({
        "transactions produced": run.produced.transactions, "labels produced": run.produced.labels,
        "scores on " + s.topics.scores: len(scores), "distinct tx scored": scores["tx_id"].nunique(),
        "job wall time (s)": round(run.job_seconds, 1),
        "scored tx/s (first to last score)": round(len(scores) / span_s),
        "event-to-score latency ms, all": _percentiles_ms(scores),
        "... after warm-up (sent after the first score)": _percentiles_ms(warm),
        "feature freshness ms, after warm-up (event to online)": _percentiles_ms(served_warm, until="online_at"),
    }, title="\nstream done")
    top = scores.sort_values("score", ascending=False).head(5)
    truth = labels.set_index("tx_id")["is_fraud"]
    ctx.emit([{**r, "is_fraud": int(truth[r["tx_id"]])} for r in top[["tx_id", "cc_num", "score", "model_version"]].to_dict("records")],
             title="\nmost suspicious live transactions")
    card = top.iloc[0]["cc_num"]
    ctx.emit(read_online(s, CARD, [card]).iloc[0].to_dict(), title=f"\nFeast online features of card {card}")
    ctx.emit([{"step": n, "seconds": round(sec, 1)} for n, sec in steps], title="\ntimings")
    click.echo(f"\ndone. Scores stay on topic '{s.topics.scores}' until `skewless down`.")


@click.command()
@click.argument("history", required=False, type=click.Path(path_type=Path))
@_labels_option
@click.option("--limit", default=20_000, show_default=True, help="Compare the first N transactions by time (0: all).")
@click.option("--seed", default=0, show_default=True, help="Seed of the out-of-order replay.")
@click.option("--show", default=20, show_default=True, help="Differences to print.")
@pass_context
def parity(ctx: Context, history: Path | None, labels_path: Path | None, limit: int, seed: int, show: int) -> None:
    """Feed the same events through the backfill and (via the broker) the streaming job; compare every feature."""
    labels_path = _default_labels(ctx, history, labels_path)
    history = history or ctx.settings.history_dir / TRANSACTIONS_FILE
    report = run_parity(ctx.settings, history, labels_path, limit or None, seed)
    record_parity(ctx.settings, report.compared, [d.feature for d in report.differences])
    ctx.emit({
        "transactions": report.transactions, "compared": report.compared,
        "missing in stream": len(report.missing_in_stream), "duplicated in stream": len(report.duplicated_in_stream),
        "differences": len(report.differences),
    }, title="parity: backfill vs stream")
    if report.differences:
        ctx.emit([vars(d) for d in report.differences[:show]], title="\ndifferences (tx, feature, backfill, stream)")
    if not report.ok:
        raise SkewlessError(f"backfill and stream disagree (missing {report.missing_in_stream[:5]}, "
                            f"{len(report.differences)} value differences)")


@click.command(name="features")
@click.option("--spec", is_flag=True, help="Print the feature engine's spec the declarations compile to.")
@click.option("--explain", "explained", metavar="NAME", help="One feature: its declaration, compiled form, Feast views, parity.")
@click.option("--markdown", is_flag=True, help="Print docs/features.md, every derived name.")
@pass_context
def list_features(ctx: Context, spec: bool, explained: str | None, markdown: bool) -> None:
    """The declared features, as both pipelines and Feast see them."""
    if spec:
        click.echo(engine_spec())
        return
    if markdown:
        click.echo(features_markdown(), nl=False)
        return
    if explained is not None:
        feature = find(explained)
        if feature is None:
            raise SkewlessError(f"no feature named '{explained}': `skewless features` lists them")
        ctx.emit(explain(feature, ctx.settings), title=explained)
        return
    ctx.emit([
        {"name": f.name, "entity": f.entity.name, "type": f.dtype, "current tx included": includes_current(f),
         "description": f.description}
        for f in FEATURES
    ])


COMMANDS = (list_features, backfill, dataset, train, stream, parity, demo)
