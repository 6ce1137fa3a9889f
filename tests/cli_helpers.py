"""Running the real click CLI in-process against the test session's settings."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import yaml
from click.testing import CliRunner, Result

from cli.main import cli
from skewless.config import Settings


def invoke(settings: Settings, *args: str) -> str:
    """What a user sees (stdout and stderr) of the CLI reading exactly `settings`."""
    return _run(settings, *args).output


def invoke_json(settings: Settings, *args: str) -> Any:
    """The JSON a command prints: its stdout only, so a library's warning on stderr cannot garble it."""
    return json.loads(_run(settings, *args).stdout)


def _run(settings: Settings, *args: str) -> Result:
    """The CLI reads exactly `settings` (as a config file), whatever the caller changed in them."""
    text = yaml.safe_dump(settings.model_dump(mode="json"))
    config = settings.data_dir / f"test-settings-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    # Only the file: SKEWLESS_* variables of this process would override it.
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("SKEWLESS_")}
    env["SKEWLESS_CONFIG"] = str(config)
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result
