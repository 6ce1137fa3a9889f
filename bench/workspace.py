"""A trained, project-like workspace for the stream benchmarks, kept apart from data/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cli.main import cli
from skewless.config import Settings, load_settings

SKEWLESS = str(Path(sys.executable).parent / "skewless")
"""The CLI of this environment, for commands run in processes of their own."""


def run_cli(*args: str) -> None:
    cli.main(list(args), standalone_mode=False)


def run_command(*args: str) -> None:
    """`skewless ARGS` in a process of its own, as a user runs it.

    A backfill run in the benchmark's own process would leave its JVM there, started with
    `flink.backfill_jvm_options` (a batch's collector and compiler), and the stream measured
    next would reuse it: the stream would not run as `skewless stream` runs it.
    """
    subprocess.run([SKEWLESS, *args], check=True)


def trained_workspace(workdir: Path, cards: int = 2_000, days: int = 10, reuse: bool = False) -> Settings:
    """up, generate, backfill, train: a copy of feature_repo/ beside data/ under `workdir`.

    Absolute paths go through the environment, so settings loaded later (and the
    Flink workers, and the commands' own processes) see them: Feast's apply changes the
    working directory. `reuse` keeps a workspace that already has a model (only the broker is started).
    """
    workdir = workdir.resolve()
    shutil.copytree(Path(__file__).parent.parent / "feature_repo", workdir / "feature_repo", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["SKEWLESS_DATA_DIR"] = str(workdir / "data")
    os.environ["SKEWLESS_FEATURE_REPO"] = str(workdir / "feature_repo")
    run_cli("up")
    if reuse and (workdir / "data" / "models").exists():
        return load_settings()
    run_cli("generate", "--cards", str(cards), "--days", str(days))
    run_command("backfill")
    run_cli("train")
    return load_settings()
