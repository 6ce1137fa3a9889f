"""What the streaming job says about itself, read off its score rows: metrics and drift.

- `score_metrics`: records out, scores per model version, alerts and the alert rate,
  event-to-score latency as a histogram, the serving model's version and age
  (`ScoreMetrics.java`; Flink's Prometheus reporter exports them when it is on).
- `drift_windows`: PSI per window of event time (`DriftWindows.java`), one record per
  window and model version for the drift topic. The JVM bins each row with the
  reference stored with the version that scored it (`models.drift`, read from the
  registry), so a model swapped in mid-window is measured against its own data.
"""

from __future__ import annotations

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

from jobs.serving import SCORE_FIELDS
from models.drift import SCORE, drift_columns
from skewless.config import Settings
from udfs.units import s_to_ms

_NAMES = [name for name, _ in SCORE_FIELDS]


def score_metrics(scores: DataStream, settings: Settings) -> DataStream:
    """`scores`, unchanged: rows in `SCORE_FIELDS` order, counted on the way."""
    return DataStream(get_gateway().jvm.skewless.engine.ScoreMetrics.of(
        scores._j_data_stream, str(settings.models_dir.resolve()), settings.topics.scores,
        _NAMES.index("event_time"), _NAMES.index("scored_at"), _NAMES.index("model_version"), _NAMES.index("decision"),
    ))


def drift_windows(scores: DataStream, settings: Settings) -> DataStream:
    """(k, v) rows for the drift topic, k the window start, v the window's JSON record."""
    gateway = get_gateway()
    columns = (*drift_columns(), SCORE)
    positions = gateway.new_array(gateway.jvm.int, len(columns))
    for i, column in enumerate(columns):
        positions[i] = _NAMES.index(column)
    drift = settings.drift
    return DataStream(gateway.jvm.skewless.engine.DriftWindows.of(
        scores._j_data_stream, str(settings.models_dir.resolve()), ",".join(columns), positions,
        _NAMES.index("event_time"), _NAMES.index("model_version"), s_to_ms(drift.window_s), s_to_ms(drift.grace_s),
        float(drift.threshold), drift.min_rows,
    ))
