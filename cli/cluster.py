"""`skewless cluster | submit | jobs`: the same jobs on a real Flink cluster, by analogy with `flink run/list/cancel/stop`."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from cli.context import Context, pass_context
from cli.pipeline import backfill, stream
from jobs.submit import submit as submit_job
from skewless.errors import SkewlessError
from skewless.flink.cluster import cluster_dir, start_cluster, stop_cluster
from skewless.flink.rest import FlinkRest

DEFAULT_JOBMANAGER = "127.0.0.1:8081"


def _jobmanager(ctx: Context, given: str | None) -> str:
    return given or ctx.settings.flink.jobmanager or DEFAULT_JOBMANAGER


_jobmanager_option = click.option("-m", "--jobmanager", help=f"Flink REST address host:port [flink.jobmanager, {DEFAULT_JOBMANAGER}].")


@click.group()
def cluster() -> None:
    """A standalone Flink cluster (JobManager + TaskManager) from the installed Flink distribution."""


@cluster.command()
@click.option("--port", default=8081, show_default=True, help="REST port (web UI).")
@click.option("--slots", default=2, show_default=True, help="Task slots of the TaskManager (max parallelism).")
@pass_context
def start(ctx: Context, port: int, slots: int) -> None:
    rest = start_cluster(ctx.settings, port, slots)
    overview = rest.overview()
    ctx.emit({"rest / web UI": f"http://127.0.0.1:{port}", "taskmanagers": overview["taskmanagers"],
              "slots": overview["slots-total"], "flink": overview["flink-version"],
              "logs": str(cluster_dir(ctx.settings) / "log")}, title="Flink cluster started")


@cluster.command()
@pass_context
def stop(ctx: Context) -> None:
    stop_cluster(ctx.settings)
    click.echo("Flink cluster stopped")


@click.command()
@click.argument("job", type=click.Choice(["stream", "backfill"]))
@click.argument("history", required=False, type=click.Path(path_type=Path))
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), help="Labels file for a backfill.")
@_jobmanager_option
@click.option("-p", "--parallelism", type=int, help="Parallelism of the job [flink.parallelism].")
@click.option("-s", "--from-savepoint", "savepoint", help="Resume from this savepoint (path printed by `jobs savepoint`).")
@click.pass_context
def submit(click_ctx: click.Context, job: str, history: Path | None, labels_path: Path | None, jobmanager: str | None,
           parallelism: int | None, savepoint: str | None) -> None:
    """Submit the streaming job (detached) or a backfill (waits) to a Flink cluster; without -m, run locally."""
    ctx: Context = click_ctx.obj
    if jobmanager is None and ctx.settings.flink.jobmanager is None:
        if savepoint:
            raise SkewlessError("--from-savepoint needs a cluster (-m host:port): the local mini-cluster keeps no savepoints")
        if job == "stream":
            click_ctx.invoke(stream, bootstrap_history=None, labels_path=None)
        else:
            click_ctx.invoke(backfill, history=history, labels_path=labels_path, as_arrived=False, materialize=True)
        return
    settings = ctx.settings
    if parallelism:
        settings = settings.model_copy(update={"flink": settings.flink.model_copy(update={"parallelism": parallelism})})
    args = [] if job == "stream" else [str((history or settings.history_dir / "transactions.parquet").resolve()),
                                        str(labels_path.resolve()) if labels_path else ""]
    job_id, output = submit_job(settings, job, _jobmanager(ctx, jobmanager), savepoint, args)
    for line in output.splitlines():
        if "JobID" in line or line.startswith("backfill:"):
            click.echo(line)


@click.group()
def jobs() -> None:
    """List, cancel and savepoint jobs on a Flink cluster (REST)."""


@jobs.command(name="list")
@_jobmanager_option
@pass_context
def list_jobs(ctx: Context, jobmanager: str | None) -> None:
    rows = FlinkRest(_jobmanager(ctx, jobmanager)).jobs()
    ctx.emit([{"started": pd.Timestamp(j["start-time"], unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S"),
               "job id": j["jid"], "name": j["name"][:60], "state": j["state"]}
              for j in sorted(rows, key=lambda j: j["start-time"])])


@jobs.command()
@click.argument("job_id")
@_jobmanager_option
@pass_context
def cancel(ctx: Context, job_id: str, jobmanager: str | None) -> None:
    FlinkRest(_jobmanager(ctx, jobmanager)).cancel(job_id)
    click.echo(f"Cancelled job {job_id}.")


@jobs.command()
@click.argument("job_id")
@click.option("--stop", "stop_job", is_flag=True, help="Stop the job after the savepoint (flink stop).")
@click.option("--dir", "directory", type=click.Path(path_type=Path), help="Savepoint folder [data/savepoints].")
@_jobmanager_option
@pass_context
def savepoint(ctx: Context, job_id: str, stop_job: bool, directory: Path | None, jobmanager: str | None) -> None:
    """Take a savepoint; resume from it with `skewless submit stream -s PATH`."""
    directory = (directory or ctx.settings.data_dir / "savepoints").resolve()
    location = FlinkRest(_jobmanager(ctx, jobmanager)).savepoint(job_id, directory.as_uri(), stop_job)
    click.echo(f"Savepoint completed. Path: {location}")
    if stop_job:
        click.echo(f"Job {job_id} stopped.")


COMMANDS = (cluster, submit, jobs)
