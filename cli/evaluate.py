"""`skewless evaluate`: what online updates are worth, on a world whose fraud pattern changes halfway."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
import pandas as pd

from cli.context import Context, pass_context
from jobs.drivers.evaluation import Evaluation, Scenario, run_evaluation
from models.metrics import ALERT_BUDGET_CARDS
from models.online import UpdatePolicy
from models.replay import FROZEN, UPDATING
from udfs.units import DAY_MS, HOUR_MS


def _by_slice(evaluation: Evaluation) -> pd.DataFrame:
    """One row per slice: both models' metrics side by side."""
    long = pd.DataFrame([asdict(r) for r in evaluation.results])
    wide = long.pivot(index="start_ms", columns="model",
                      values=["average_precision", "recall", "precision", "card_precision", "trees", "promoted"])
    wide.columns = [f"{metric}_{model}" for metric, model in wide.columns]
    wide["fraud"] = long[long["model"] == FROZEN].set_index("start_ms")["positives"]
    wide["rows"] = long[long["model"] == FROZEN].set_index("start_ms")["rows"]
    wide["after_shift"] = wide.index >= evaluation.scenario.shift_ms
    return wide.reset_index()


_METRIC_NAMES = {"average_precision": "average precision", "recall": "recall", "precision": "precision",
                 "card_precision": f"card precision@{ALERT_BUDGET_CARDS}"}


def _summary(table: pd.DataFrame) -> list[dict[str, str]]:
    """Mean per-slice AP, recall, precision and card precision@100 before and after the shift, and the ratio updating/frozen."""
    rows = []
    for after, part in table.groupby("after_shift"):
        for metric in ("average_precision", "recall", "precision", "card_precision"):
            frozen, updating = part[f"{metric}_{FROZEN}"].mean(), part[f"{metric}_{UPDATING}"].mean()
            rows.append({
                "period": "after the shift" if after else "before the shift", "fraud": str(int(part["fraud"].sum())),
                "metric": _METRIC_NAMES[metric], "frozen": f"{frozen:.3f}", "updating": f"{updating:.3f}",
                "ratio": f"{updating / frozen:.2f}" if frozen else "-",
            })
    return rows


def _plot(table: pd.DataFrame, evaluation: Evaluation, threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    day = (table["start_ms"] - evaluation.scenario.start_ms) / DAY_MS
    shift = (evaluation.scenario.shift_ms - evaluation.scenario.start_ms) / DAY_MS
    figure, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for axis, metric, title in ((axes[0], "average_precision", "average precision"),
                                (axes[1], "recall", f"recall at threshold {threshold}")):
        axis.plot(day, table[f"{metric}_{FROZEN}"], marker="o", color="0.5", label="frozen")
        axis.plot(day, table[f"{metric}_{UPDATING}"], marker="o", color="tab:blue", label="online updates")
        axis.axvline(shift, color="tab:red", linestyle="--", label="new fraud pattern")
        axis.set_ylim(0, 1.02)
        axis.set_ylabel(title)
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower left")
    axes[1].set_xlabel("day of the replay")
    figure.suptitle("skewless evaluate: frozen vs online-updated model")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _cell(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3f}"


@click.command()
@click.option("--cards", default=2_000, show_default=True)
@click.option("--train-days", default=28, show_default=True, help="Days of history the initial model is trained on.")
@click.option("--days", default=28, show_default=True, help="Days replayed; the fraud pattern changes halfway.")
@click.option("--slice-hours", default=24, show_default=True, help="Length of a time slice (and the update interval).")
@click.option("--label-delay-hours", default=24, show_default=True, help="When labels become known, after the transaction.")
@click.option("--seed", default=7, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for the table and plot [data/evaluate].")
@pass_context
def evaluate(ctx: Context, cards: int, train_days: int, days: int, slice_hours: int, label_delay_hours: int,
             seed: int, out: Path | None) -> None:
    """Replay a world whose fraud changes halfway with a frozen and an online-updated model; AP and recall per slice."""
    s = ctx.settings
    scenario = Scenario(cards=cards, train_days=train_days, days=days, seed=seed, label_delay_ms=label_delay_hours * HOUR_MS,
                        slice_ms=slice_hours * HOUR_MS)
    if ctx.output != "json":
        click.echo(f"generating {train_days + days} days for {cards} cards, computing features with the backfill job ...")
    evaluation = run_evaluation(s, scenario, UpdatePolicy(threshold=s.scoring.threshold))
    table = _by_slice(evaluation)
    out = out or s.data_dir / "evaluate"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "slices.csv", index=False)
    summary = _summary(table)
    (out / "summary.json").write_text(json.dumps({"scenario": asdict(scenario), "summary": summary}, indent=2))
    _plot(table, evaluation, s.scoring.threshold, out / "evaluate.png")
    ctx.emit([{
        "slice": pd.Timestamp(r.start_ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M") + (" *" if r.after_shift else ""),
        "tx": str(int(r.rows)), "fraud": str(int(r.fraud)),
        "AP frozen": _cell(r.average_precision_frozen), "AP updating": _cell(r.average_precision_updating),
        "recall frozen": _cell(r.recall_frozen), "recall updating": _cell(r.recall_updating),
        f"card P@{ALERT_BUDGET_CARDS} frozen": _cell(r.card_precision_frozen),
        f"card P@{ALERT_BUDGET_CARDS} updating": _cell(r.card_precision_updating),
        "trees": str(int(r.trees_updating)) + (" (new)" if r.promoted_updating else ""),
    } for r in table.itertuples()], title="per slice (* = after the new fraud pattern started)")
    ctx.emit(summary, title="\nmean per slice")
    ctx.emit({
        "transactions": evaluation.transactions, "initial model trained on": f"{evaluation.initial_training_rows} rows",
        "fraud replayed (before / after the shift)": f"{evaluation.fraud_before_shift} / {evaluation.fraud_after_shift}",
        "seconds": round(evaluation.seconds, 1), "written": f"{out / 'slices.csv'}, {out / 'summary.json'}, {out / 'evaluate.png'}",
    }, title="\nevaluate done")


COMMANDS = (evaluate,)
