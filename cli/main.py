"""Entry point: `skewless [global options] COMMAND`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from cli.context import Context, run_guarded
from jobs.flink_env import stop_jvm
from skewless import logs
from skewless.config import load_settings
from skewless.errors import SkewlessError


def _parse_flink_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SkewlessError(f"-D expects key=value, got '{pair}'")
        options[key.strip()] = value.strip()
    return options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML settings file (default: ./skewless.yaml).")
@click.option("-C", "--chdir", type=click.Path(file_okay=False, path_type=Path), help="Run as if started in this folder.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory [SKEWLESS_DATA_DIR].")
@click.option("--bootstrap-server", help="Kafka bootstrap servers [SKEWLESS_KAFKA__BOOTSTRAP_SERVERS].")
@click.option("-D", "flink_options", multiple=True, metavar="KEY=VALUE", help="Flink option passed through, repeatable.")
@click.option("-p", "--parallelism", type=int, help="Flink parallelism.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-v", "--verbose", count=True, help="-v for progress logs, -vv for debug.")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, chdir: Path | None, data_dir: Path | None,
        bootstrap_server: str | None, flink_options: tuple[str, ...], parallelism: int | None,
        output: str, verbose: int) -> None:
    """skewless: one Flink pipeline for fraud features, backfill and stream alike."""
    logs.configure(verbose)
    if chdir:
        os.chdir(chdir)
    overrides: dict[str, Any] = {}
    if data_dir:
        overrides["data_dir"] = data_dir
    if bootstrap_server:
        overrides.setdefault("kafka", {})["bootstrap_servers"] = bootstrap_server
    flink: dict[str, Any] = {}
    if flink_options:
        flink["options"] = _parse_flink_options(flink_options)
    if parallelism:
        flink["parallelism"] = parallelism
    if flink:
        overrides["flink"] = flink
    ctx.obj = Context(load_settings(config_file, overrides), output)


def _register() -> None:
    from cli import cluster, data, drift, evaluate, models, pipeline, stack

    for module in (stack, data, pipeline, models, evaluate, cluster, drift):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    try:
        run_guarded(lambda args: cli.main(args, standalone_mode=False), sys.argv[1:])
    finally:
        stop_jvm()
