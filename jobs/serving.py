"""The in-stream step after features: score them, emit one record each, write them online.

A vectorised (pandas) map: Flink hands over a batch of feature rows, the batch is
scored in one call and one score row per input row comes back. Per-row Python would
cost ~4x the throughput (docs/stack.md). The batch goes to Feast's online store and the
served-features log behind the score (write-behind, `OnlineWriteBehind`): the score
never waits for the store.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

import jobs.python_worker  # noqa: F401  (quiets the worker's benign shutdown error)
from jobs.feature_spec import output_columns
from models.policy import serving_rule
from models.scoring import Scorer
from skewless.config import Settings
from skewless.feast_store import OnlineWriteBehind, ServedLog, feature_view_name
from skewless.model_updates import ModelFollower
from udfs.features import ENTITIES, FEATURES, TRANSACTION_INPUTS, features_of, model_inputs

_FLINK_TYPES = {"float64": DataTypes.DOUBLE(), "int64": DataTypes.BIGINT()}
SCORE_FIELDS = (
    ("tx_id", DataTypes.STRING()),
    ("cc_num", DataTypes.STRING()),
    ("score", DataTypes.DOUBLE()),
    ("decision", DataTypes.INT()),
    ("policy", DataTypes.STRING()),
    ("model_version", DataTypes.STRING()),
    ("event_time", DataTypes.BIGINT()),
    ("scored_at", DataTypes.BIGINT()),
    *((name, DataTypes.DOUBLE()) for name in TRANSACTION_INPUTS),
    *((f.name, _FLINK_TYPES[f.dtype]) for f in FEATURES),
)
"""A score record: who, the score, and every model input it was computed from (flat).

`decision` is 1 when the score reaches the threshold of the decision rule named in `policy`
(`models.policy.serving_rule`: the model's stored rule unless the settings override it)."""
SCORE_ROW = DataTypes.ROW([DataTypes.FIELD(name, dtype) for name, dtype in SCORE_FIELDS])


class Freshness:
    """`online_at - event_time` of the last rows written online, as p50 / p99 gauges per Feast view.

    PyFlink's own metrics have no histogram, and its distributions do not reach the
    Prometheus reporter; a quantile gauge over a bounded window of recent rows does. The
    write-behind writes every view in one call, so their freshness is the same rows'.
    """

    WINDOW = 10_000
    QUANTILES = (("0.5", 50), ("0.99", 99))

    def __init__(self, group) -> None:  # pyflink.metrics.MetricGroup
        self.recent: deque[int] = deque(maxlen=self.WINDOW)
        self.lock = threading.Lock()
        for entity in ENTITIES:
            if features_of(entity):
                view = group.add_group("feature_view", feature_view_name(entity))
                for label, q in self.QUANTILES:
                    view.add_group("quantile", label).gauge("feature_freshness_ms", lambda q=q: self.quantile(q))

    def update(self, freshness_ms: np.ndarray) -> None:
        with self.lock:
            self.recent.extend(freshness_ms.tolist())

    def quantile(self, q: int) -> int:
        with self.lock:
            values = np.fromiter(self.recent, dtype=np.int64, count=len(self.recent))
        return int(np.percentile(values, q)) if len(values) else 0


class ScoreAndServe(ScalarFunction):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, function_context: FunctionContext) -> None:
        loaded_at = int(time.time() * 1000)
        self.scorer = Scorer.from_registry(self.settings.models_dir)
        self.follower = ModelFollower(self.settings, loaded_at, self._switch)
        self.served = ServedLog(self.settings)
        self.freshness = Freshness(function_context.get_metric_group().add_group("skewless"))
        self.online = OnlineWriteBehind(self.settings, self._written)

    def _switch(self, scorer: Scorer) -> None:
        """Called from the follower thread: one reference assignment, so a bundle sees one model."""
        self.scorer = scorer

    def _written(self, rows: pd.DataFrame, online_at: int) -> None:
        """Called from the writer thread: `online_at - event_time` is the feature freshness."""
        self.freshness.update(online_at - rows["event_time"].to_numpy("int64"))
        self.served.append(rows.assign(online_at=online_at))

    def eval(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`rows` arrive positionally: the planner renames computed columns ($7, f0, ...)."""
        scorer = self.scorer  # the whole bundle is scored, and labelled, by this one version
        rows = rows.set_axis(list(output_columns()), axis="columns")
        scores = scorer.score(rows)
        scoring = self.settings.scoring
        policy, threshold = serving_rule(scorer.meta.decision, scoring.override_threshold, scoring.threshold)
        head = pd.DataFrame({
            "tx_id": rows["tx_id"], "cc_num": rows["cc_num"], "score": scores.astype("float64"),
            "decision": (scores >= threshold).astype("int32"), "policy": policy,
            "model_version": scorer.version, "event_time": rows["event_time"],
            "scored_at": int(time.time() * 1000),
        })
        self.online.submit(rows)
        return pd.concat([head, rows[list(model_inputs())]], axis=1)

    def close(self) -> None:
        self.follower.close()
        self.online.close()
        self.served.flush()


def score_and_serve(settings: Settings):
    return udf(ScoreAndServe(settings), result_type=SCORE_ROW, func_type="pandas")
