"""The canonical transaction and label records, and normalisation of any history file.

Internally times are epoch milliseconds (UTC) in `event_time` / `label_time`: the
same integer in a Kafka message, a staged file and a Flink row, so no time zone or
precision conversion can differ between the two pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from skewless.errors import SkewlessError
from skewless.records import columns, file_columns, string_columns
from skewless.validation import (
    RAW_COLUMN,
    RULE_COLUMN,
    by_tx_id,
    check,
    check_table,
    first_broken,
    label_verdicts,
    read_jsonl,
    repeated_tx_ids,
    typed_columns,
    value_schema,
)
from udfs.units import now_ms
from udfs.validation import LABEL_RECORD, TRANSACTION_RECORD, Field, RecordKind

TRANSACTION_COLUMNS = columns(TRANSACTION_RECORD)
REQUIRED_TRANSACTION_COLUMNS = file_columns(TRANSACTION_RECORD)
OPTIONAL_TRANSACTION_COLUMNS = tuple(c for c in TRANSACTION_COLUMNS if c not in REQUIRED_TRANSACTION_COLUMNS)
LABEL_COLUMNS = columns(LABEL_RECORD)
ID_COLUMNS = string_columns(TRANSACTION_RECORD)


@dataclass(frozen=True)
class Normalised:
    """Rows ready for the pipelines, and the rows set aside with the reason for each."""

    table: pa.Table
    """The accepted rows as arrow, canonical types (`output_schema`): what staging writes as it is."""
    rejected: pd.DataFrame

    @cached_property
    def rows(self) -> pd.DataFrame:
        return as_frame(self.table)


def as_frame(table: pa.Table) -> pd.DataFrame:
    """Normalised rows as pandas: text as pandas' string dtype, whose missing value is NA.

    Through pyarrow's own conversion, which makes one Python object per distinct string:
    pandas groups by cached hashes and identity then, and the baseline's features on a
    million rows took 48 s instead of 73-82 s (measured).
    """
    frame = table.to_pandas()
    return frame.astype({f.name: "string" for f in table.schema if f.type == pa.string()})


def output_schema(kind: RecordKind) -> pa.Schema:
    """A record's accepted rows: text, doubles, 64-bit integers; a 0/1 flag (the label's is_fraud) in 8 bits."""
    def arrow_type(field: Field) -> pa.DataType:
        if field.type == "string":
            return pa.string()
        if field.type == "number":
            return pa.float64()
        return pa.int8() if (field.low, field.high) == (0, 1) else pa.int64()
    return pa.schema([(f.name, arrow_type(f)) for f in kind.fields])


def read_table(
    path: Path, string_columns: tuple[str, ...] = ID_COLUMNS, kind: RecordKind = TRANSACTION_RECORD,
) -> pd.DataFrame | pa.Table:
    """Read parquet, CSV or JSON lines (`kind`'s messages, as a topic carries them); identifiers stay strings.

    Parquet stays arrow: typed columns are validated there (`check_table`), and a million
    rows' trip into pandas and back cost a second of staging (profiled).
    """
    if not path.exists():
        raise SkewlessError(f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") or path.is_dir():
            frame = pq.read_table(path)
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


def in_time_order(rows: pd.DataFrame | pa.Table, time_column: str) -> pd.DataFrame | pa.Table:
    """`rows` sorted by (`time_column`, tx_id), stably, both ascending; strings by code point, as pandas orders them.

    By pyarrow: pandas sorts on a string column by factorising it first, 1.9 s of the
    2.1 s that sorting a million transactions and their labels took (profiled).
    """
    if isinstance(rows, pa.Table):
        keys = rows.select([time_column, "tx_id"])
    else:
        keys = pa.table({time_column: rows[time_column].to_numpy("int64"), "tx_id": _text(rows["tx_id"])})
    return rows.take(pc.sort_indices(keys, sort_keys=[(time_column, "ascending"), ("tx_id", "ascending")]).to_numpy())


def _rejected(frame: pd.DataFrame | pa.Table, broken: pd.Series) -> pd.DataFrame:
    """The rows as they were read that broke a rule, each with its rule, indexed by their row in the file."""
    bad = broken.notna().to_numpy()
    rows = frame.filter(pa.array(bad)).to_pandas().set_axis(np.flatnonzero(bad)) if isinstance(frame, pa.Table) else frame.loc[bad]
    rejected = rows.assign(**{RULE_COLUMN: broken[bad].to_numpy()})
    if RAW_COLUMN in rejected:
        rejected[RAW_COLUMN] = rejected[RAW_COLUMN].map(lambda b: b.decode("utf-8", errors="backslashreplace"))
    return rejected


def _checked(frame: pd.DataFrame | pa.Table, kind: RecordKind, source: Path | str, arrival_ms: int | None) -> tuple[pa.Table, pd.Series]:
    """`kind`'s values as arrow (`value_schema`) and each row's first broken field rule.

    A table typed as the record (parquet, as most histories are) is checked by pyarrow
    alone; any other frame (CSV, JSON lines, text among numbers) value by value.
    """
    arrival = _arrival_ms(arrival_ms)
    if isinstance(frame, pa.Table):
        if typed_columns(frame, kind):
            return check_table(frame, kind, arrival)
        frame = frame.to_pandas()
    raw = frame.reset_index(drop=True)
    for field in kind.fields:
        if field.name not in raw.columns:
            raw[field.name] = pd.NA
    raw[kind.time_field] = _time_values(raw, kind.time_field, source)
    values, broken = check(raw, kind, arrival)
    return pa.Table.from_pandas(values, schema=value_schema(kind), preserve_index=False), broken


def _accepted(values: pa.Table, broken: pd.Series, kind: RecordKind) -> pa.Table:
    return values.filter(pa.array(broken.isna().to_numpy())).cast(output_schema(kind))


def normalise_transactions(
    frame: pd.DataFrame | pa.Table, source: Path | str, keep_order: bool = False, arrival_ms: int | None = None,
) -> Normalised:
    """Canonical columns and types, sorted by (event_time, tx_id) unless `keep_order`; rows that break a rule
    of `udfs.validation` set aside with its name, as the stream dead-letters them."""
    missing = [c for c in REQUIRED_TRANSACTION_COLUMNS if c not in _names(frame)]
    if missing:
        raise SkewlessError(
            f"{source} lacks column(s) {', '.join(missing)}; a transaction history needs "
            f"{', '.join(REQUIRED_TRANSACTION_COLUMNS)} ({', '.join(OPTIONAL_TRANSACTION_COLUMNS)} optional)"
        )
    values, broken = _checked(frame, TRANSACTION_RECORD, source, arrival_ms)
    cents = np.round(values["amount"].to_numpy(zero_copy_only=False), 2)
    values = values.set_column(values.schema.get_field_index("amount"), "amount", pa.array(cents, from_pandas=True))
    broken = first_broken(broken, repeated_tx_ids(values["tx_id"], broken.isna()))
    rows = _accepted(values, broken, TRANSACTION_RECORD)
    return Normalised(rows if keep_order else in_time_order(rows, "event_time"), _rejected(frame, broken))


def _names(frame: pd.DataFrame | pa.Table) -> list[str]:
    return frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)


def _with_merchants(frame: pd.DataFrame | pa.Table, transactions: pa.Table) -> pd.DataFrame | pa.Table:
    """Labels without `merchant_id` take their transaction's (by tx_id; null for an unknown one)."""
    merchants = by_tx_id(_text(frame["tx_id"]), transactions, "merchant_id")
    if isinstance(frame, pa.Table):
        return frame.append_column("merchant_id", merchants)
    return frame.assign(merchant_id=pd.array(merchants.to_pandas(), dtype="string"))


def _text(values: pd.Series | pa.ChunkedArray) -> pa.Array:
    """A column of ids as arrow text, for lookups by tx_id (a non-text id as its str())."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks().cast(pa.string())
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([None if pd.isna(v) else str(v) for v in values], pa.string())


def _transactions_table(transactions: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(transactions, pa.Table):
        return transactions
    return pa.table({
        "tx_id": _text(transactions["tx_id"]),
        "merchant_id": _text(transactions["merchant_id"]) if "merchant_id" in transactions else pa.nulls(len(transactions), pa.string()),
        "event_time": pa.array(transactions["event_time"].to_numpy("int64")),
    })


def normalise_labels(
    frame: pd.DataFrame | pa.Table, source: Path | str, transactions: pd.DataFrame | pa.Table, arrival_ms: int | None = None,
) -> Normalised:
    """Canonical labels of `transactions`, sorted by (label_time, tx_id); the others set aside with the rule they break.

    A labels file without `merchant_id` takes it from `transactions` by tx_id.
    """
    history = _transactions_table(transactions)
    if "tx_id" in _names(frame) and "merchant_id" not in _names(frame):
        frame = _with_merchants(frame, history)
    missing = [c for c in LABEL_COLUMNS if c not in _names(frame)]
    if missing:
        raise SkewlessError(f"{source} lacks label column(s) {', '.join(missing)}; labels need {', '.join(LABEL_COLUMNS)}")
    values, broken = _checked(frame, LABEL_RECORD, source, arrival_ms)
    broken = first_broken(broken, label_verdicts(values, history, broken.isna()))
    return Normalised(in_time_order(_accepted(values, broken, LABEL_RECORD), "label_time"), _rejected(frame, broken))
