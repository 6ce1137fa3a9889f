"""Structured, quiet-by-default logging: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        return json.dumps(entry, default=str)


class _OwnCloseCancelled(logging.Filter):
    """kafka-python logs an error when closing a consumer cancels its metadata request in flight.

    skewless closes its short-lived consumers (reading a topic, finding end offsets) as soon as
    they are done; the cancelled refresh is that close, not a fault, and an error line saying
    "Metadata refresh: failed Cancelled" in the middle of a demo reads as one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "Metadata refresh: failed %s" and record.args
                    and type(record.args[0]).__name__ == "Cancelled")


def configure(verbose: int) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv; third-party libraries stay at WARNING."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for ours in ("skewless", "jobs", "models", "cli"):
        logging.getLogger(ours).setLevel(level)
    cluster = logging.getLogger("kafka.cluster")
    cluster.filters[:] = [f for f in cluster.filters if not isinstance(f, _OwnCloseCancelled)]
    cluster.addFilter(_OwnCloseCancelled())
    if verbose == 0:
        warnings.filterwarnings("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # inherited by Flink's Python workers
