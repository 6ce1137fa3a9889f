"""What every command shares: settings, output format, and turning failures into one line."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from tabulate import tabulate

from skewless.config import Settings
from skewless.errors import SkewlessError


@dataclass
class Context:
    settings: Settings
    output: str

    def emit(self, rows: list[dict[str, Any]] | dict[str, Any], title: str | None = None) -> None:
        """A table for people, JSON for programs (`--output json`)."""
        if self.output == "json":
            click.echo(json.dumps(rows, default=str))
            return
        if title:
            click.echo(click.style(title, bold=True))
        if isinstance(rows, dict):
            click.echo(tabulate(list(rows.items()), tablefmt="plain", disable_numparse=True))
        else:
            click.echo(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True))


pass_context = click.make_pass_decorator(Context)


def java_failure_summary(message: str) -> str:
    """What actually went wrong: the Python exception raised in a UDF, else Java's deepest cause."""
    python_errors = re.findall(r"^(?:[a-z_][\w.]*\.)?(\w+(?:Error|Exception)): (.+)$", message, re.MULTILINE)
    python_errors = [(kind, text) for kind, text in python_errors if not text.startswith("Traceback")]
    if python_errors:
        kind, text = python_errors[-1]
        return f"{kind}: {text}"
    causes = re.findall(r"Caused by: ([^\n]+)", message)
    return causes[-1] if causes else message.strip().splitlines()[0]


VERBOSITY = {"-v": 1, "-vv": 2, "-vvv": 3, "--verbose": 1}


def hoist_verbosity(args: list[str]) -> list[str]:
    """-v/-vv are taken wherever they are placed (`skewless backfill f.csv -vv` too): moved before the command."""
    head, tail = (args[: args.index("--")], args[args.index("--"):]) if "--" in args else (args, [])
    flags = [a for a in head if a in VERBOSITY]
    return [*flags, *(a for a in head if a not in VERBOSITY), *tail]


def _verbosity(args: list[str]) -> int:
    return sum(VERBOSITY.get(a, 0) for a in args)


def run_guarded(main: Callable[[list[str]], Any], args: list[str]) -> None:
    """Run the CLI; a failure becomes one line on stderr naming its root cause, and exit code 1.

    With -vv the whole trace comes first (the Java stack for a failed Flink job), the line last.
    """
    args = hoist_verbosity(args)
    try:
        main(args)
    except SkewlessError as exc:
        if _verbosity(args) >= 2:
            click.echo(traceback.format_exc(), err=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001  (the last line of defence: one line, the trace on demand)
        java = type(exc).__name__ == "Py4JJavaError"
        cause = f"Flink job failed: {java_failure_summary(str(exc))}" if java else f"{type(exc).__name__}: {exc}"
        if _verbosity(args) >= 2:
            click.echo(str(exc) if java else traceback.format_exc(), err=True)
            click.echo(f"error: {cause}", err=True)
        else:
            click.echo(f"error: {cause} (re-run with -vv for details)", err=True)
        sys.exit(1)
