"""Quiet by default: what skewless prints on stderr is a fault, not the noise of closing its own clients."""

from __future__ import annotations

import json
import logging
import os

import pytest
from kafka.errors import Cancelled, NodeNotReadyError

from skewless.logs import configure


@pytest.fixture
def restored_logging(monkeypatch):
    """Undoes `configure` after the test: its handler writes to that test's captured stderr."""
    monkeypatch.setenv("PYTHONWARNINGS", os.environ.get("PYTHONWARNINGS", "default"))  # restored after the test
    loggers = [logging.getLogger(name) for name in ("", "skewless", "jobs", "models", "cli")]
    cluster = logging.getLogger("kafka.cluster")
    handlers, levels, filters = loggers[0].handlers[:], [lg.level for lg in loggers], cluster.filters[:]
    yield
    loggers[0].handlers[:], cluster.filters[:] = handlers, filters
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_a_cancelled_refresh_from_closing_a_consumer_is_not_an_error_line(restored_logging, capsys) -> None:
    configure(0)  # as the CLI does
    cluster = logging.getLogger("kafka.cluster")
    cluster.error("Metadata refresh: failed %s", Cancelled())
    cluster.error("Metadata refresh: failed %s", NodeNotReadyError("metadata"))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["level"], line["logger"]) for line in lines] == [("error", "kafka.cluster")]
    assert "NodeNotReadyError" in lines[0]["msg"]
