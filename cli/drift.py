"""`skewless drift`: the last windows of the stream's drift measure (`model-drift`), as a table or a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from cli.context import Context, pass_context
from skewless.messaging.topics import read_json


def drift_windows(ctx: Context, last: int) -> pd.DataFrame:
    """The newest `last` windows on the drift topic, oldest first (one row per window and model version)."""
    s = ctx.settings
    rows = pd.DataFrame(list(read_json(s, s.topics.drift, idle_timeout_s=2.0)))
    if rows.empty:
        return rows
    return rows.sort_values(["window_start", "model_version"], kind="stable").drop_duplicates(
        ["window_start", "model_version"], keep="last").tail(last).reset_index(drop=True)


def _plot(windows: pd.DataFrame, path: Path, features: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    psi = pd.DataFrame(list(windows["psi"]))
    top = psi.max().sort_values(ascending=False).index[:features]
    when = pd.to_datetime(windows["window_start"], unit="ms", utc=True)
    figure, axis = plt.subplots(figsize=(10, 4))
    axis.plot(when, windows["score_psi"], label="score", color="black", linewidth=2)
    for name in top:
        axis.plot(when, psi[name], label=name, linewidth=1)
    axis.axhline(windows["threshold"].iloc[-1], color="tab:red", linestyle="--", label="threshold")
    axis.set_ylabel("PSI")
    axis.set_title("Drift per window against the serving model's training data")
    axis.legend(fontsize=7, loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _row(window: Any) -> dict[str, Any]:
    return {
        "window (UTC)": pd.Timestamp(window.window_start, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M"),
        "model": window.model_version, "rows": window.rows, "score PSI": f"{window.score_psi:.3f}",
        "top feature": window.top_feature, "its PSI": f"{window.top_psi:.3f}", "drifted": "yes" if window.drifted else "",
    }


@click.command()
@click.option("--last", default=24, show_default=True, help="How many windows, newest last.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), help="Also draw them to this PNG.")
@click.option("--features", default=5, show_default=True, help="Features drawn in the plot: the most drifting ones.")
@pass_context
def drift(ctx: Context, last: int, plot_path: Path | None, features: int) -> None:
    """PSI of the score and the top feature per window, as the stream measured them."""
    windows = drift_windows(ctx, last)
    if windows.empty:
        ctx.emit({"drift": f"no window measured yet on {ctx.settings.topics.drift}: a window is reported "
                           f"once traffic passes its end by {ctx.settings.drift.grace_s} s"})
        return
    if ctx.output == "json":
        ctx.emit(windows.to_dict("records"))
        return
    ctx.emit([_row(w) for w in windows.itertuples()], title=f"drift on {ctx.settings.topics.drift} "
             f"(threshold {windows['threshold'].iloc[-1]}, a window needs {windows['min_rows'].iloc[-1]} rows)")
    if plot_path is not None:
        _plot(windows, plot_path, features)
        click.echo(f"plot: {plot_path}")


COMMANDS = (drift,)
