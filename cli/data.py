"""`skewless generate | produce`: synthetic history on disk, live transactions on Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from tqdm import tqdm

from cli.context import Context, pass_context
from skewless.messaging.producer import LiveProducer
from skewless.messaging.topics import ensure_topics
from skewless.synthetic.history import PopulationSpec, live_batch, load_population, write_history
from udfs.units import s_to_ms


def _midnight_utc() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@click.command()
@click.option("--cards", default=2_000, show_default=True)
@click.option("--merchants", default=400, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option("--tx-per-card-day", default=2.0, show_default=True)
@click.option("--end", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="End of history, UTC [today 00:00].")
@click.option("--seed", default=42, show_default=True)
@pass_context
def generate(ctx: Context, cards: int, merchants: int, days: int, tx_per_card_day: float,
             end: datetime | None, seed: int) -> None:
    """Write a synthetic history (transactions + labels, parquet); same seed and end, same files."""
    end = end.replace(tzinfo=UTC) if end else _midnight_utc()
    start = end - timedelta(days=days)
    spec = PopulationSpec(seed, cards, merchants)
    files = write_history(ctx.settings, spec, s_to_ms(start.timestamp()), s_to_ms(end.timestamp()),
                          int(cards * tx_per_card_day * days))
    ctx.emit({
        "transactions": f"{files.transactions} ({files.rows} rows)", "labels": str(files.labels),
        "window": f"{start.isoformat()} .. {end.isoformat()}", "fraud rate": f"{files.fraud_rate:.3%}",
    }, title="history written")


@click.command()
@click.option("--rate", default=100.0, show_default=True, help="Transactions per second.")
@click.option("--count", default=1_000, show_default=True, help="About how many transactions.")
@click.option("--label-delay-s", default=10.0, show_default=True, help="Mean delay of a label after its transaction.")
@click.option("--seed", default=1, show_default=True)
@pass_context
def produce(ctx: Context, rate: float, count: int, label_delay_s: float, seed: int) -> None:
    """Stream live transactions (JSON, keyed by card) and, later, their labels."""
    s = ctx.settings
    transactions, labels = live_batch(load_population(s), count, rate, seed)
    ensure_topics(s)
    producer = LiveProducer(s)
    try:
        with tqdm(total=len(transactions), unit="tx", disable=ctx.output == "json") as bar:
            report = producer.run(transactions, labels, label_delay_s, seed, progress=bar.update)
    finally:
        producer.close()
    ctx.emit({
        "transactions": report.transactions, "labels": report.labels, "seconds": round(report.seconds, 1),
        "topic": f"{s.topics.transactions} / {s.topics.labels}",
    }, title="produced")


COMMANDS = (generate, produce)
