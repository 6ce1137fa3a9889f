"""The feature-freshness gauges: the window's quantiles, recomputed at most once per refresh, not at every bundle."""

from __future__ import annotations

import numpy as np

from jobs.serving import Freshness


class _Group:
    """The part of PyFlink's MetricGroup the gauges use: nested groups and named gauges, kept by full name."""

    def __init__(self, gauges: dict, path: str = "") -> None:
        self.gauges, self.path = gauges, path

    def add_group(self, name: str, value: str) -> _Group:
        return _Group(self.gauges, f"{self.path}{name}={value}/")

    def gauge(self, name: str, fn) -> None:
        self.gauges[self.path + name] = fn


def test_the_gauges_read_the_windows_quantiles_as_of_the_last_refresh(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("jobs.serving.time.monotonic", lambda: clock[0])
    gauges: dict = {}
    freshness = Freshness(_Group(gauges))
    p50 = gauges["feature_view=card_features/quantile=0.5/feature_freshness_ms"]
    p99 = gauges["feature_view=merchant_features/quantile=0.99/feature_freshness_ms"]
    assert (p50(), p99()) == (0, 0)  # nothing written yet

    freshness.update(np.arange(1, 101))  # 1..100 ms
    clock[0] += Freshness.REFRESH_S
    assert (p50(), p99()) == (50, 99)  # numpy's linear percentiles of 1..100: 50.5 and 99.01, as whole ms

    freshness.update(np.full(10_000, 7))  # the window (10,000 rows) now holds only 7s
    clock[0] += Freshness.REFRESH_S / 2
    assert (p50(), p99()) == (50, 99), "read again within the refresh: the quantiles are not recomputed"
    clock[0] += Freshness.REFRESH_S / 2
    assert (p50(), p99()) == (7, 7)
