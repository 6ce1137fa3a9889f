"""What `flink run -py` executes for `skewless submit`: one of skewless's jobs, built from the settings file.

The same functions as on the local mini-cluster: inside `flink run`, Flink's
execution environment is the cluster the client was pointed at, so no job code
changes between the two.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jobs.backfill import run_backfill
from jobs.stream import start_stream
from skewless.config import load_settings


def main(argv: list[str]) -> None:
    settings = load_settings()  # SKEWLESS_CONFIG: the file `skewless submit` wrote
    kind = argv[0]
    if kind == "stream":
        start_stream(settings)  # detached: returns once the job is submitted
    elif kind == "backfill":
        history, labels = Path(argv[1]), (Path(argv[2]) if len(argv) > 2 and argv[2] else None)
        result = run_backfill(settings, history, labels, materialize=True)
        print(f"backfill: {result.rows_out} feature rows from {result.rows_in} transactions -> {result.offline_path}")
    else:
        raise SystemExit(f"unknown job '{kind}': use stream or backfill")


if __name__ == "__main__":
    main(sys.argv[1:])
