"""`skewless submit`: hand a job to a running Flink cluster with Flink's own client (`flink run`).

Everything the job needs travels with the submission or is configured by it:
- the settings, frozen into a YAML file the job reads (`SKEWLESS_CONFIG`), so CLI
  flags and environment overrides reach it exactly;
- the Python interpreter for the client and the workers (`-pyclientexec`, `-pyexec`,
  and `python.executable`), which must have skewless's dependencies;
- the project's code (`-pyfs`: udfs, jobs, models, skewless), shipped to every worker;
- the Kafka connector jars (`pipeline.jars`, uploaded by the client with the job);
- the model registry and Feast repo locations: the settings' paths, which the
  TaskManagers must see (same machine, or a shared volume as in docker-compose.yml).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import yaml

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.flink.cluster import flink_env
from skewless.flink.connectors import flink_home
from udfs.units import now_ms

JobKind = Literal["stream", "backfill"]
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PACKAGES = ("udfs", "jobs", "models", "skewless")
_JOB_ID = re.compile(r"JobID ([0-9a-f]{32})")


def freeze_settings(settings: Settings) -> Path:
    path = settings.data_dir / "cluster" / f"submitted-{now_ms()}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    secrets = {"online_store": {"redis_password"}, "model_updates": {"key"}}  # they stay in the environment
    frozen = settings.model_dump(mode="json", exclude=secrets)
    path.write_text(yaml.safe_dump(frozen, sort_keys=False))
    return path


def flink_run_command(settings: Settings, kind: JobKind, jobmanager: str, savepoint: str | None,
                      job_args: list[str]) -> list[str]:
    command = [str(flink_home() / "bin" / "flink"), "run", "-m", jobmanager, "-p", str(settings.flink.parallelism),
               "-pyclientexec", sys.executable, "-pyexec", sys.executable,
               "-pyfs", ",".join(str(PROJECT_ROOT / p) for p in SHIPPED_PACKAGES)]
    if kind == "stream":
        command.append("-d")  # a stream never ends: return once it is submitted
    if savepoint:
        command += ["-s", savepoint]
    return [*command, "-py", str(PROJECT_ROOT / "jobs" / "entrypoint.py"), kind, *job_args]


def submit(settings: Settings, kind: JobKind, jobmanager: str, savepoint: str | None = None,
           job_args: list[str] | None = None) -> tuple[str, str]:
    """Run `flink run`; return the job id and the client's output (printed verbatim by the CLI)."""
    config = freeze_settings(settings)
    env = {**flink_env(settings), "SKEWLESS_CONFIG": str(config)}
    result = subprocess.run(flink_run_command(settings, kind, jobmanager, savepoint, job_args or []),
                            env=env, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    found = _JOB_ID.search(output)
    if result.returncode != 0 or not found:
        reason = [line for line in output.splitlines() if "Exception" in line or "Error" in line][-3:]
        raise SkewlessError(f"flink run failed (exit {result.returncode}): {' | '.join(reason) or output[-500:]}")
    return found.group(1), output
