"""Time units in one place. Every constant says its unit in its name: `_s` seconds, `_ms` milliseconds.

Feature windows are declared in seconds; event times, Kafka timestamps and every
duration the jobs compare with them are epoch milliseconds.
"""

from __future__ import annotations

import time

MS_PER_S = 1_000
MINUTE_S, HOUR_S, DAY_S = 60, 3_600, 86_400
MINUTE_MS, HOUR_MS, DAY_MS = MINUTE_S * MS_PER_S, HOUR_S * MS_PER_S, DAY_S * MS_PER_S


def s_to_ms(seconds: float) -> int:
    return int(seconds * MS_PER_S)


def now_ms() -> int:
    """Wall-clock epoch milliseconds, the unit of every timestamp skewless writes."""
    return int(time.time() * MS_PER_S)
