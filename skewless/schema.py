"""The canonical transaction and label records, and normalisation of any history file.

Internally times are epoch milliseconds (UTC) in `event_time` / `label_time`: the
same integer in a Kafka message, a staged CSV and a Flink row, so no time zone or
precision conversion can differ between the two pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from skewless.errors import SkewlessError
from skewless.records import columns, file_columns, string_columns
from skewless.validation import RAW_COLUMN, RULE_COLUMN, check, first_broken, label_verdicts, read_jsonl, repeated_tx_ids
from udfs.units import now_ms
from udfs.validation import LABEL_RECORD, TRANSACTION_RECORD, RecordKind

TRANSACTION_COLUMNS = columns(TRANSACTION_RECORD)
REQUIRED_TRANSACTION_COLUMNS = file_columns(TRANSACTION_RECORD)
OPTIONAL_TRANSACTION_COLUMNS = tuple(c for c in TRANSACTION_COLUMNS if c not in REQUIRED_TRANSACTION_COLUMNS)
LABEL_COLUMNS = columns(LABEL_RECORD)
ID_COLUMNS = string_columns(TRANSACTION_RECORD)


@dataclass(frozen=True)
class Normalised:
    """Rows ready for the pipelines, and the rows set aside with the reason for each."""

    rows: pd.DataFrame
    rejected: pd.DataFrame


def read_table(path: Path, string_columns: tuple[str, ...] = ID_COLUMNS, kind: RecordKind = TRANSACTION_RECORD) -> pd.DataFrame:
    """Read parquet, CSV or JSON lines (`kind`'s messages, as a topic carries them); identifiers stay strings."""
    if not path.exists():
        raise SkewlessError(f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") or path.is_dir():
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".gz"):
            frame = pd.read_csv(path, dtype={c: "string" for c in string_columns}, keep_default_na=True)
        elif suffix in (".jsonl", ".ndjson"):
            frame = read_jsonl(path, kind)
        else:
            raise SkewlessError(f"{path}: unknown file type '{suffix}', use .parquet, .csv or .jsonl")
    except (OSError, ValueError) as exc:
        raise SkewlessError(f"{path} could not be read: {exc}") from None
    return frame


def to_epoch_ms(values: pd.Series, column: str, source: Path | str) -> pd.Series:
    """Epoch milliseconds from datetimes (naive ones are taken as UTC), ISO strings or integers.

    Unparseable values become <NA> so the caller can set those rows aside.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values if getattr(values.dt, "tz", None) is not None else values.dt.tz_localize("UTC")
        ms = stamps.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
        return pd.Series(ms, index=values.index, dtype="Int64").mask(values.isna())
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    if parsed.notna().sum() == 0 and values.notna().any():
        raise SkewlessError(
            f"{source}: column '{column}' holds neither timestamps nor epoch milliseconds "
            f"(first value: {values.dropna().iloc[0]!r})"
        )
    return to_epoch_ms(parsed, column, source)


def _time_values(frame: pd.DataFrame, column: str, source: Path | str) -> pd.Series:
    """Epoch ms where the file's time parses (datetimes, ISO strings, integers); elsewhere the value as it was,
    for the rules to name (`<column>.type`). JSON lines carry epoch ms already and are left to the rules."""
    raw = frame[column]
    if RAW_COLUMN in frame:
        return raw
    converted = to_epoch_ms(raw, column, source)
    if converted.notna().sum() == raw.notna().sum():
        return converted  # every time parsed: the rules check integers, not a million Python objects
    return converted.astype(object).where(converted.notna(), raw)


def _arrival_ms(arrival_ms: int | None) -> int:
    """A history arrives when the backfill reads it: event times may not lie further ahead than that."""
    return now_ms() if arrival_ms is None else arrival_ms


def in_time_order(frame: pd.DataFrame, time_column: str) -> pd.DataFrame:
    """`frame` sorted by (`time_column`, tx_id), stably, both ascending; strings by code point, as pandas orders them.

    By pyarrow: pandas sorts on a string column by factorising it first, 1.9 s of the
    2.1 s that sorting a million transactions and their labels took (profiled).
    """
    keys = pa.table({"time": frame[time_column].to_numpy("int64"), "tx_id": pa.array(frame["tx_id"], type=pa.string(), from_pandas=True)})
    return frame.take(pc.sort_indices(keys, sort_keys=[("time", "ascending"), ("tx_id", "ascending")]).to_numpy())


def _rejected(frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
    bad = broken.notna()
    rejected = frame.loc[bad].assign(**{RULE_COLUMN: broken.loc[bad]})
    if RAW_COLUMN in rejected:
        rejected[RAW_COLUMN] = rejected[RAW_COLUMN].map(lambda b: b.decode("utf-8", errors="backslashreplace"))
    return rejected


def normalise_transactions(
    frame: pd.DataFrame, source: Path | str, keep_order: bool = False, arrival_ms: int | None = None,
) -> Normalised:
    """Canonical columns and types, sorted by (event_time, tx_id) unless `keep_order`; rows that break a rule
    of `udfs.validation` set aside with its name, as the stream dead-letters them."""
    missing = [c for c in REQUIRED_TRANSACTION_COLUMNS if c not in frame.columns]
    if missing:
        raise SkewlessError(
            f"{source} lacks column(s) {', '.join(missing)}; a transaction history needs "
            f"{', '.join(REQUIRED_TRANSACTION_COLUMNS)} ({', '.join(OPTIONAL_TRANSACTION_COLUMNS)} optional)"
        )
    raw = frame.copy()
    for column in OPTIONAL_TRANSACTION_COLUMNS:
        if column not in raw.columns:
            raw[column] = pd.NA
    raw["event_time"] = _time_values(raw, "event_time", source)
    out, broken = check(raw, TRANSACTION_RECORD, _arrival_ms(arrival_ms))
    out["amount"] = out["amount"].round(2)
    broken = first_broken(broken, repeated_tx_ids(out["tx_id"], broken.isna()))
    good = broken.isna()
    rows = out.loc[good].astype({"event_time": "int64"})
    if not keep_order:
        rows = in_time_order(rows, "event_time")
    return Normalised(rows.reset_index(drop=True)[list(TRANSACTION_COLUMNS)], _rejected(frame, broken))


def normalise_labels(
    frame: pd.DataFrame, source: Path | str, transactions: pd.DataFrame, arrival_ms: int | None = None,
) -> Normalised:
    """Canonical labels of `transactions`, sorted by (label_time, tx_id); the others set aside with the rule they break.

    A labels file without `merchant_id` takes it from `transactions` by tx_id.
    """
    if "merchant_id" not in frame.columns:
        frame = frame.merge(transactions[["tx_id", "merchant_id"]].astype("string"), on="tx_id", how="left")
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise SkewlessError(f"{source} lacks label column(s) {', '.join(missing)}; labels need {', '.join(LABEL_COLUMNS)}")
    raw = frame.reset_index(drop=True)
    raw["label_time"] = _time_values(raw, "label_time", source)
    labels, broken = check(raw, LABEL_RECORD, _arrival_ms(arrival_ms))
    broken = first_broken(broken, label_verdicts(labels, transactions, broken.isna()))
    good = broken.isna()
    rows = labels.loc[good].astype({"is_fraud": "int8", "label_time": "int64"})
    rows = in_time_order(rows, "label_time").reset_index(drop=True)
    return Normalised(rows[list(LABEL_COLUMNS)], _rejected(raw, broken))
