"""Backfill: bounded history files (transactions, labels) -> the shared feature engine -> Feast's offline store."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

from jobs.event_time import STAGED_LABEL_COLUMNS, late_records, split_late
from jobs.feature_engine import arrived_events, engine_events, feature_stream, labels_cards, staged_events
from jobs.feature_spec import output_types
from jobs.flink_env import LocalStart, create_stream_env, create_table_env, java_env, start_local
from jobs.job_files import arrow_columns, read_arrow_parts, write_arrow_part, write_csv_part
from jobs.sources import Bootstrap, bind_arrivals
from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.featurestore.online import OnlineWriter
from skewless.featurestore.store import write_offline
from skewless.schema import as_frame, normalise_labels, normalise_transactions, output_schema, read_table
from udfs.features import FEATURES, Feature
from udfs.validation import LABEL_RECORD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillResult:
    rows_in: int
    rows_rejected: int
    rows_out: int
    rows_late: int
    seconds: float
    offline_path: Path
    rejected_path: Path | None
    late_dir: Path | None


@dataclass(frozen=True)
class Staged:
    """Normalised rows in the files the Flink job reads, and what was set aside.

    In time order: one Arrow file of the engine's event rows, transactions and labels
    together (`files` = (events,)). As arrived: one CSV per kind, read by SQL (`files` =
    (transactions, labels)), so each kind's late rows are told by its own order of arrival.
    """

    files: tuple[Path, ...]
    as_arrived: bool
    transactions: pa.Table
    label_table: pa.Table
    rows_read: int
    rejected_path: Path | None

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The transactions as pandas, for callers that replay or compare them."""
        return as_frame(self.transactions)

    @cached_property
    def labels(self) -> pd.DataFrame:
        return as_frame(self.label_table)


def stage_history(
    settings: Settings, history: Path, labels: Path | None = None, limit: int | None = None, as_arrived: bool = False,
    name: str = "history", labels_known_by_ms: int | None = None,
) -> Staged:
    """Normalise a history (and its labels) into the CSVs the Flink sources read; set bad rows aside.

    The rows go in (event time, tx_id) order, so nothing in a history is late, unless
    `as_arrived`: then the file's order is taken as the order events arrived in, and
    rows more out of order than the allowed lateness go to the late file, as the
    stream would set them aside. `limit` keeps the first transactions by time;
    `labels_known_by_ms` keeps the labels that had arrived by then. Arrow from the file
    to the CSV: pandas only for a file whose columns are not typed as the record's.
    """
    raw = read_table(history)
    normalised = normalise_transactions(raw, history, keep_order=as_arrived)
    rows = normalised.table if limit is None else normalised.table.slice(0, limit)
    label_rows = _labels(settings, labels, normalised.table, labels_known_by_ms)
    if limit is not None:
        label_rows = label_rows.filter(pc.is_in(label_rows["tx_id"], value_set=rows["tx_id"].combine_chunks()))
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    if as_arrived:
        files = (settings.staging_dir / f"{name}.csv", settings.staging_dir / f"{name}-labels.csv")
        write_csv_part(rows, files[0])
        write_csv_part(label_rows.append_column("cc_num", labels_cards(label_rows, rows)).select(list(STAGED_LABEL_COLUMNS)), files[1])
    else:
        files = (settings.staging_dir / f"{name}-events.arrow",)
        write_arrow_part(engine_events(rows, label_rows), files[0])
    rejected_path = set_aside(settings, history, normalised.rejected)
    return Staged(files, as_arrived, rows, label_rows, len(raw), rejected_path)


def set_aside(settings: Settings, source: Path, rejected: pd.DataFrame) -> Path | None:
    """Rows that broke a rule, as they were read, with the rule's name (`reject_rule`): nothing accepted is dropped silently."""
    if not len(rejected):
        return None
    path = settings.data_dir / "rejected" / f"{source.stem}.rejected.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rejected.to_csv(path, index=False)
    log.warning("rows set aside", extra={"count": len(rejected), "file": str(path)})
    return path


def stage_bootstrap(settings: Settings, history: Path, labels: Path | None, now_ms: int) -> Bootstrap:
    """A history for a stream job to read first: its transactions, and the labels known by `now_ms`."""
    staged = stage_history(settings, history, labels, name="bootstrap", labels_known_by_ms=now_ms)
    return Bootstrap(staged.files[0], pc.max(staged.transactions["event_time"]).as_py())


def _labels(settings: Settings, path: Path | None, transactions: pa.Table, known_by_ms: int | None) -> pa.Table:
    """The valid labels of these transactions (none without a labels file: label rates are then null)."""
    if path is None:
        return output_schema(LABEL_RECORD).empty_table()
    normalised = normalise_labels(read_table(path, kind=LABEL_RECORD), path, transactions)
    set_aside(settings, path, normalised.rejected)
    labels = normalised.table
    if known_by_ms is not None:
        labels = labels.filter(pc.less_equal(labels["label_time"], known_by_ms))
    return labels


@dataclass(frozen=True)
class Computed:
    table: pa.Table
    """One row per on-time transaction, in (event_time, tx_id) order: what the offline store gets as it is."""
    late: pd.DataFrame
    """Late transactions and labels: kind, tx_id, time, the watermark they missed, the reason."""

    @cached_property
    def features(self) -> pd.DataFrame:
        """The rows as a frame, for callers that compare or train on them."""
        return self.table.to_pandas()


_LATE_TYPES = {"tx_id": "string", "event_time": "int64", "watermark": "string", "reason": "string"}
_ARROW_TYPES = {"STRING": "string", "BIGINT": "int64", "DOUBLE": "float64"}


JOB_OPTIONS = {"pipeline.name": "skewless backfill"}


def compute_features(
    settings: Settings, staged: Staged, features: tuple[Feature, ...] = FEATURES, local: LocalStart | None = None,
) -> Computed:
    """Run the feature engine over the staged history: one row per on-time transaction, and the late rows.

    Features and late rows come from one job, so the late split is the streaming job's
    own (`jobs.event_time`), not a second implementation; a history staged in time order
    has nothing late and skips it. The job writes both as Arrow files, read back here in
    one call each: collecting through the Flink client costs more than computing the
    features. `local`: a mini-cluster started for this job (`start_local` with
    `JOB_OPTIONS`); without, the job starts its own.
    """
    out = settings.staging_dir / "computed"
    shutil.rmtree(out, ignore_errors=True)
    flagged = ()
    if staged.as_arrived:
        env = t_env = create_table_env(settings, "throughput", JOB_OPTIONS)
        bind_arrivals(t_env, settings, *staged.files)
        flagged = split_late(t_env)
        events = arrived_events(t_env)
    else:
        env = create_stream_env(settings, "throughput", JOB_OPTIONS)
        events = staged_events(env, staged.files[0])
    arrow_files = get_gateway().jvm.skewless.engine.ArrowFiles
    write_features(events, features, out)
    for source in flagged:
        t_env.create_temporary_view(f"{source.name}_late", late_records(t_env, source, settings.features.allowed_lateness_ms))
        late = t_env.sql_query(f"SELECT tx_id, {source.time_field} AS event_time, missed_watermark, reason FROM {source.name}_late")
        arrow_files.write(t_env.to_data_stream(late)._j_data_stream, str(out), f"late-{source.kind}", arrow_columns(_LATE_TYPES))
    if local is None:
        java_env(env).execute("skewless backfill")
    else:
        local.execute(env, "skewless backfill")
    computed = read_features(out, features, order=("event_time", "tx_id"))
    parts = [read_arrow_parts(out, f"late-{s.kind}", _LATE_TYPES).to_pandas().assign(kind=s.kind) for s in flagged]
    late = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*_LATE_TYPES, "kind"])
    return Computed(computed, late)


def _feature_types(features: tuple[Feature, ...]) -> dict[str, str]:
    return {c: _ARROW_TYPES[t] for c, t in output_types(features).items()}


def write_features(events: DataStream, features: tuple[Feature, ...], out: Path) -> None:
    """The engine's rows for `events`, as Arrow files in `out` when the job runs (one per subtask)."""
    stream = feature_stream(events, features)._j_data_stream
    get_gateway().jvm.skewless.engine.ArrowFiles.write(stream, str(out), "features", arrow_columns(_feature_types(features)))


def read_features(out: Path, features: tuple[Feature, ...], order: tuple[str, ...] = ()) -> pa.Table:
    """What `write_features` wrote, typed, in one table, sorted by the `order` columns."""
    return read_arrow_parts(out, "features", _feature_types(features), order)


def run_backfill(
    settings: Settings, history: Path, labels: Path | None = None, as_arrived: bool = False, materialize: bool = False,
) -> BackfillResult:
    """Every accepted transaction ends up in the offline store or, if late, in the late file.

    `materialize` also writes each card's and merchant's newest values to the online
    store, so serving can start from the history before the stream has seen a card.
    """
    started = time.monotonic()
    local = start_local(settings, "throughput", JOB_OPTIONS)
    try:
        staged = stage_history(settings, history, labels, as_arrived=as_arrived)
        computed = compute_features(settings, staged, local=local)
    finally:
        local.close()
    late_tx = int((computed.late["kind"] == "transaction").sum())
    accepted = staged.transactions.num_rows
    rows_out = computed.table.num_rows
    if rows_out + late_tx != accepted:
        raise SkewlessError(
            f"backfill accounted for {rows_out} feature rows and {late_tx} late rows "
            f"of {accepted} accepted transactions"
        )
    late_dir = write_late(settings, history, computed.late, staged) if len(computed.late) else None
    path = write_offline(settings, computed.table)
    if materialize:
        OnlineWriter(settings).write(computed.features)
    return BackfillResult(
        staged.rows_read, staged.rows_read - accepted, rows_out, late_tx,
        time.monotonic() - started, path, staged.rejected_path, late_dir,
    )


def write_late(settings: Settings, history: Path, late: pd.DataFrame, staged: Staged) -> Path:
    """The late rows as they were read, each with the watermark it missed and the reason; one file per kind."""
    folder = settings.data_dir / "late"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, originals in (("transaction", staged.rows), ("label", staged.labels)):
        rows = late[late["kind"] == kind]
        if len(rows):
            path = folder / f"{history.stem}.{kind}s.late.csv"
            originals.merge(rows[["tx_id", "watermark", "reason"]], on="tx_id").to_csv(path, index=False)
            log.warning("late rows set aside", extra={"kind": kind, "count": len(rows), "file": str(path)})
    return folder
