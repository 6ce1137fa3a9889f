"""The in-stream step after features: score them, emit one record each, write them online.

A vectorised (pandas) map: Flink hands over a batch of feature rows, the batch is
scored in one call and one score row per input row comes back. Per-row Python would
cost ~4x the throughput (docs/stack.md). The batch goes to Feast's online store and the
served-features log behind the score (write-behind, `OnlineWriteBehind`): the score
never waits for the store, except at a checkpoint barrier (`jobs.checkpoint_marks`),
where both are brought up to date and a pending model update takes over.
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
from jobs.checkpoint_marks import MARK_FIELD, Mark, ServingVersions
from jobs.feature_spec import output_columns, output_types
from jobs.served_log import ServedLog
from models.policy import serving_rule
from models.scoring import Scorer
from models.updates import ModelFollower
from skewless.config import Settings
from skewless.featurestore.names import feature_view_name
from skewless.featurestore.online import OnlineWriteBehind
from skewless.records import SCORE_RECORD
from udfs.features import ENTITIES, features_of, model_inputs
from udfs.units import now_ms

_FLINK_TYPES = {"STRING": DataTypes.STRING(), "DOUBLE": DataTypes.DOUBLE(), "BIGINT": DataTypes.BIGINT(), "INT": DataTypes.INT()}
SCORE_FIELDS = tuple((c.name, _FLINK_TYPES[c.sql]) for c in SCORE_RECORD)
"""The score record (`skewless.records.SCORE_RECORD`) as Flink types."""
INPUT_COLUMNS = (*output_columns(), MARK_FIELD)
"""The scoring step's input: the engine's rows, then the mark field (null but on marks)."""
_INTEGER_COLUMNS = {name: "int64" for name, sql in output_types().items() if sql == "BIGINT"}
SCORE_ROW = DataTypes.ROW([DataTypes.FIELD(name, dtype) for name, dtype in SCORE_FIELDS])


class Freshness:
    """`online_at - event_time` of the last rows written online, as p50 / p99 gauges per Feast view.

    PyFlink's own metrics have no histogram, and its distributions do not reach the
    Prometheus reporter; a quantile gauge over a bounded window of recent rows does. The
    write-behind writes every view in one call, so their freshness is the same rows'.
    PyFlink reads every gauge at the end of every bundle, dozens of times a second, while
    a reporter asks every few seconds: the quantiles are computed at most once per
    `REFRESH_S` (each reading sorted the whole window, 4% of the scoring process's CPU at
    1,000 tx/s, docs/stack.md).
    """

    WINDOW = 10_000
    QUANTILES = (("0.5", 50), ("0.99", 99))
    REFRESH_S = 1.0

    def __init__(self, group) -> None:  # pyflink.metrics.MetricGroup
        self.recent: deque[int] = deque(maxlen=self.WINDOW)
        self.lock = threading.Lock()
        self.computed = {percent: 0 for _, percent in self.QUANTILES}
        self.computed_at = -self.REFRESH_S
        for entity in ENTITIES:
            if features_of(entity):
                view = group.add_group("feature_view", feature_view_name(entity))
                for label, q in self.QUANTILES:
                    view.add_group("quantile", label).gauge("feature_freshness_ms", lambda q=q: self.quantile(q))

    def update(self, freshness_ms: np.ndarray) -> None:
        with self.lock:
            self.recent.extend(freshness_ms.tolist())

    def quantile(self, q: int) -> int:
        """The `q`th percentile of the window as it was at most `REFRESH_S` ago (0 while it is empty)."""
        if time.monotonic() - self.computed_at >= self.REFRESH_S:
            with self.lock:
                values = np.fromiter(self.recent, dtype=np.int64, count=len(self.recent))
            percents = [percent for _, percent in self.QUANTILES]
            at = np.percentile(values, percents).astype(int).tolist() if len(values) else [0] * len(percents)
            self.computed = dict(zip(percents, at, strict=True))
            self.computed_at = time.monotonic()
        return self.computed[q]


class ScoreAndServe(ScalarFunction):
    """Scores, decides and serves each row; ties the online store, the served log and the model to checkpoints.

    A mark row (`jobs.checkpoint_marks`) comes out as a row with a null `tx_id`, which the
    job drops after this step.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, function_context: FunctionContext) -> None:
        loaded_at = now_ms()
        self.scorer = Scorer.from_registry(self.settings.models_dir)
        self.next_scorer: Scorer | None = None
        self.follower = ModelFollower(self.settings, loaded_at, self._switch)
        self.served = ServedLog(self.settings)
        self.versions = ServingVersions(self.settings)
        self.freshness = Freshness(function_context.get_metric_group().add_group("skewless"))
        self.online = OnlineWriteBehind(self.settings, self._written)

    def _switch(self, scorer: Scorer) -> None:
        """Called from the follower thread: the model takes over at the next barrier, so a replay from the
        checkpoint before it is scored by the version that scored it first."""
        self.next_scorer = scorer

    def _written(self, rows: pd.DataFrame, online_at: int) -> None:
        """Called from the writer thread: `online_at - event_time` is the feature freshness."""
        self.freshness.update(online_at - rows["event_time"].to_numpy("int64"))
        self.served.append(rows.assign(online_at=online_at))

    def eval(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`rows` arrive in `INPUT_COLUMNS` order, which the job selects by name (`jobs.stream`); the planner
        renames the columns ($7, f0, ...), so they are named again here."""
        rows = rows.set_axis(list(INPUT_COLUMNS), axis="columns")
        marks = rows.pop(MARK_FIELD)
        if marks.isna().all():
            return self._score(rows)
        data = rows[marks.isna()].astype(_INTEGER_COLUMNS)  # a mark's nulls made them floats
        parts, before = [], -1
        for at in np.flatnonzero(marks.notna().to_numpy()):  # a mark ends its batch, but nothing here relies on it
            parts.append(self._score(data[(data.index > before) & (data.index < at)]))
            self._mark(Mark.parse(marks.iat[at]))
            before = at
        parts.append(self._score(data[data.index > before]))
        scored = [part for part in parts if part is not None]
        out = pd.concat(scored) if scored else pd.DataFrame(columns=[name for name, _ in SCORE_FIELDS])
        return out.reindex(rows.index)  # a mark comes out as a row of nulls

    def _score(self, rows: pd.DataFrame) -> pd.DataFrame | None:
        if rows.empty:
            return None
        scorer = self.scorer  # the whole batch is scored, and labelled, by this one version
        scores = scorer.score(rows)
        scoring = self.settings.scoring
        policy, threshold = serving_rule(scorer.meta.decision, scoring.override_threshold, scoring.threshold)
        head = pd.DataFrame({
            "tx_id": rows["tx_id"], "cc_num": rows["cc_num"], "score": scores.astype("float64"),
            "decision": (scores >= threshold).astype("int32"), "policy": policy,
            "model_version": scorer.version, "event_time": rows["event_time"],
            "scored_at": now_ms(),
        })
        self.online.submit(rows)
        return pd.concat([head, rows[list(model_inputs())]], axis=1)

    def _mark(self, mark: Mark) -> None:
        if mark.event == "open":
            self.served.begin(mark)
            pinned = self.versions.at(mark) if mark.restored else None
            if pinned is not None and pinned != self.scorer.version:
                self.scorer, self.next_scorer = Scorer.from_registry(self.settings.models_dir, pinned), self.scorer
            return
        self.online.drain()
        self.served.seal(mark.checkpoint if mark.event == "barrier" else None)
        if mark.event == "barrier":
            if self.next_scorer is not None:
                self.scorer, self.next_scorer = self.next_scorer, None
            self.versions.record(mark, self.scorer.version)

    def close(self) -> None:
        """Served rows after the last barrier are not logged here: a restart replays them from that checkpoint."""
        self.follower.close()
        self.online.close()


def score_and_serve(settings: Settings):
    return udf(ScoreAndServe(settings), result_type=SCORE_ROW, func_type="pandas")
