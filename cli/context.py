"""What every command shares: settings, output format, and turning failures into one line."""

from __future__ import annotations

import json
import re
import sys
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


def run_guarded(main: Callable[[], Any]) -> None:
    """Run the CLI; a user-facing error becomes one line on stderr and exit code 1."""
    try:
        main()
    except SkewlessError as exc:
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
    except Exception as exc:
        if type(exc).__name__ == "Py4JJavaError":
            click.echo(f"error: Flink job failed: {java_failure_summary(str(exc))} (re-run with -vv for details)", err=True)
            sys.exit(1)
        raise
