"""Running the real click CLI in-process against the test session's settings."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import cli
from skewless.config import Settings


def invoke(settings: Settings, *args: str) -> str:
    env = {
        "SKEWLESS_DATA_DIR": str(settings.data_dir), "SKEWLESS_FEATURE_REPO": str(settings.feature_repo),
        "SKEWLESS_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "SKEWLESS_KAFKA__CONSUMER_GROUP": settings.kafka.consumer_group,
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
