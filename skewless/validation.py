"""The input rules of `udfs.validation`, applied to a whole history at once (the backfill's side).

The stream applies the same declarations in the JVM, message by message
(`jobs/engine/src/skewless/engine/Rules.java`); here they run column by column on the
values a history file holds, in the same order, so a record gets the same verdict and
the same rule name on both sides (`tests/test_bad_input.py` checks it message by
message). A JSON-lines history holds the very messages a topic would carry and goes
through the same parse rules (size, UTF-8, JSON) first.

A parquet history whose columns are typed as the record's fields is checked by pyarrow
alone (`check_table`: a million transactions in 0.3 s); other frames column by column in
pandas (`check`), and only a column of mixed Python values (JSON lines, a CSV column with
text among numbers) value by value. Both give the same verdicts (`tests/test_schema.py`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from udfs.validation import (
    LABEL_UNIQUE,
    LOCATION_PAIR,
    MAX_FUTURE_MS,
    MAX_RECORD_BYTES,
    RECORD_JSON,
    RECORD_SIZE,
    RECORD_UTF8,
    TX_KNOWN,
    TX_UNIQUE,
    UNIQUE_WITHIN_MS,
    Field,
    RecordKind,
)

RULE_COLUMN = "reject_rule"
RAW_COLUMN = "raw_message"
"""The message as it was read, in a frame of JSON lines."""


def _no_constant(name: str) -> float:
    return float(name)  # NaN and ±Infinity: numbers out of every range, as Jackson reads them


def parse_message(value: bytes) -> tuple[dict | None, str | None]:
    """One message's (record, broken parse rule): the order the stream checks them in."""
    if len(value) > MAX_RECORD_BYTES:
        return None, RECORD_SIZE
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None, RECORD_UTF8
    try:
        record = json.loads(text, parse_constant=_no_constant) if text.strip() else None
    except ValueError:
        return None, RECORD_JSON
    return (record, None) if isinstance(record, dict) else (None, RECORD_JSON)


def message_frame(values: Iterable[bytes], kind: RecordKind) -> pd.DataFrame:
    """Messages as the stream reads them: one row each, `kind`'s fields, the parse rule broken (if any), the raw bytes."""
    rows: list[dict] = []
    for value in values:
        record, broken = parse_message(value)
        row = {f.name: (record or {}).get(f.name) for f in kind.fields}
        rows.append({**row, RULE_COLUMN: broken, RAW_COLUMN: value})
    return pd.DataFrame(rows, columns=[*(f.name for f in kind.fields), RULE_COLUMN, RAW_COLUMN], dtype=object)


def read_jsonl(path: Path, kind: RecordKind) -> pd.DataFrame:
    """A JSON-lines file as the stream would read its messages: one row per line, unparseable ones with their rule."""
    with path.open("rb") as lines:
        return message_frame((line.rstrip(b"\r\n") for line in lines), kind)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_NEEDS_NO_STRIP = r"^[0-9A-Za-z_-](.*[0-9A-Za-z_-])?$"
"""Text that starts and ends with one of these characters is its own `str.strip()`."""


def _all_text(values: pd.Series, from_pandas: bool) -> pd.Series | None:
    """`values` stripped as `str.strip` would, when every value is text or missing; None when any is not."""
    try:
        array = pa.array(values.to_numpy(dtype=object), from_pandas=from_pandas)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if array.type == pa.null():
        array = array.cast(pa.string())
    if array.type != pa.string():
        return None
    return pd.Series(_stripped(array).to_pandas(), index=values.index, dtype="string")


def _stripped(array: pa.Array) -> pa.Array:
    """Text stripped exactly as Python's `str.strip`, in one pyarrow pass.

    Python's `str.strip` runs only on the few values that may have whitespace at an
    end (pyarrow's own trim knows other whitespace than Python's).
    """
    loose = np.flatnonzero(~np.asarray(pc.match_substring_regex(array, _NEEDS_NO_STRIP).fill_null(True), dtype=bool))
    if not len(loose):
        return array
    mask = np.zeros(len(array), dtype=bool)
    mask[loose] = True
    return pc.replace_with_mask(array, pa.array(mask), pa.array([v.strip() for v in array.take(loose).to_pylist()], pa.string()))


def no_rule(index: pd.Index) -> pd.Series:
    """A verdict per row, none broken yet: plain Python objects, not pandas' string dtype, which
    re-checks every value on each of the dozens of masks a history goes through (2 s of 1M rows' staging)."""
    return pd.Series(None, index=index, dtype=object)


def first_broken(broken: pd.Series, then: pd.Series) -> pd.Series:
    """Each row's first broken rule: `broken`'s where it names one, else `then`'s."""
    return broken.mask(broken.isna(), then)


def _field(values: pd.Series, field: Field, arrival_ms: int, messages: bool) -> tuple[pd.Series, pd.Series]:
    """(rule broken by each value or None, the value as the pipelines carry it).

    In a message only null or absence is missing, and NaN is a number out of range; a
    file format (CSV) has no NaN of its own, only empty cells."""
    broken = no_rule(values.index)
    missing = values.map(lambda v: v is None) if messages else values.isna()
    if field.type == "string":
        text = _all_text(values, from_pandas=not messages)
        if text is not None:
            is_text = pd.Series(True, index=values.index)
        else:
            is_text = values.map(lambda v: isinstance(v, str))
            text = values.where(is_text & ~missing).astype("string").str.strip()
        broken = broken.mask(~missing & ~is_text, field.rule("type"))
        empty = missing | (is_text & (text == "")).fillna(False).astype(bool)
        if field.required:
            broken = broken.mask(broken.isna() & empty, field.rule("required"))
        return broken, text.mask(empty)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        is_number = pd.Series(True, index=values.index)
        number = values.astype("float64")
    else:
        is_number = values.map(_is_number)
        number = values.where(is_number).astype("float64")
    if field.required:
        broken = broken.mask(missing, field.rule("required"))
    broken = broken.mask(broken.isna() & ~missing & ~is_number, field.rule("type"))
    if field.type == "integer":
        finite = np.isfinite(number.fillna(0))
        fractional = finite & (number.fillna(0) % 1 != 0)
        broken = broken.mask(broken.isna() & ~missing & fractional, field.rule("type"))
    outside = _outside(number.to_numpy(), field, arrival_ms)
    broken = broken.mask(broken.isna() & ~missing & is_number & outside, field.rule("range"))
    return broken, number


def _outside(number: np.ndarray, field: Field, arrival_ms: int) -> np.ndarray:
    """Numbers outside the field's range (NaN among them: it is in no range)."""
    high = arrival_ms + MAX_FUTURE_MS if field.future else (math.inf if field.high is None else field.high)
    low = -math.inf if field.low is None else field.low
    with np.errstate(invalid="ignore"):
        outside = ~((number >= low) & (number <= high))
        if field.below is not None:
            outside |= ~(number < field.below)
    return outside


def check(frame: pd.DataFrame, kind: RecordKind, arrival_ms: int) -> tuple[pd.DataFrame, pd.Series]:
    """The values of `kind`'s fields as the pipelines carry them, and the first rule each row breaks (None: none)."""
    broken = no_rule(frame.index)
    if RULE_COLUMN in frame:
        broken = first_broken(broken, frame[RULE_COLUMN])
    values = pd.DataFrame(index=frame.index)
    messages = RAW_COLUMN in frame
    for field in kind.fields:
        column = frame[field.name] if field.name in frame else pd.Series(None, index=frame.index, dtype="object")
        field_broken, values[field.name] = _field(column, field, arrival_ms, messages)
        broken = first_broken(broken, field_broken)
    if kind.pair:
        a, b = (values[name].isna() for name in kind.pair)
        broken = broken.mask(broken.isna() & (a != b), LOCATION_PAIR)
    return values, broken


def _typed_as(kind: pa.DataType, field: Field) -> bool:
    if pa.types.is_dictionary(kind):
        return _typed_as(kind.value_type, field)
    if pa.types.is_null(kind):
        return True
    if field.type == "string":
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)
    return pa.types.is_integer(kind) or (field.type == "number" and pa.types.is_floating(kind))


def typed_columns(table: pa.Table, kind: RecordKind) -> bool:
    """Whether each of `kind`'s fields that `table` has is typed as the field is (text, integers, numbers):
    then `check_table` gives `check`'s verdicts without looking at a single Python value."""
    return all(_typed_as(table.schema.field(f.name).type, f) for f in kind.fields if f.name in table.column_names)


def value_schema(kind: RecordKind) -> pa.Schema:
    """How `check` and `check_table` carry a record's values: text, and every number as a double (null: missing)."""
    return pa.schema([(f.name, pa.string() if f.type == "string" else pa.float64()) for f in kind.fields])


def check_table(table: pa.Table, kind: RecordKind, arrival_ms: int) -> tuple[pa.Table, pd.Series]:
    """`check` for a file whose columns are typed as their fields (`typed_columns`): one vectorised pass per field.

    A million transactions from parquet: 0.3 s, where `check` spends 3 s making and
    masking pandas objects. The verdicts are `check`'s (`tests/test_schema.py` holds both to it).
    """
    rules: list[str | None] = [None]
    codes = np.zeros(table.num_rows, dtype=np.int16)

    def breaks(mask: np.ndarray, rule: str) -> None:
        rules.append(rule)
        codes[(codes == 0) & mask] = len(rules) - 1

    values = {}
    for field in kind.fields:
        column = table[field.name].combine_chunks() if field.name in table.column_names else pa.nulls(table.num_rows)
        if field.type == "string":
            text = _stripped(column.cast(pa.string()))
            empty = np.asarray(pc.equal(text, "").fill_null(True), dtype=bool)
            if field.required:
                breaks(empty, field.rule("required"))
            values[field.name] = pc.if_else(pa.array(empty), pa.nulls(len(text), pa.string()), text)
            continue
        number = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        missing = np.isnan(number)
        if field.required:
            breaks(missing, field.rule("required"))
        breaks(~missing & _outside(number, field, arrival_ms), field.rule("range"))
        values[field.name] = pa.array(number, from_pandas=True)
    if kind.pair:
        a, b = (np.asarray(values[name].is_null()) for name in kind.pair)
        breaks(a != b, LOCATION_PAIR)
    return pa.table(values, schema=value_schema(kind)), pd.Series(np.array(rules, dtype=object)[codes], dtype=object)


def by_tx_id(tx_ids: pa.Array | pa.ChunkedArray, transactions: pa.Table, column: str) -> pa.Array:
    """`transactions`' `column` for each of `tx_ids`: the first transaction of an id, null for an unknown one."""
    found = pc.index_in(tx_ids, value_set=transactions["tx_id"].combine_chunks())
    return transactions[column].combine_chunks().take(found)


def repeated(keys: pa.Array | pa.ChunkedArray, among: np.ndarray) -> np.ndarray:
    """Rows of `among` whose key an earlier row of `among` had (keys hashed once by pyarrow, not as Python objects)."""
    rows = np.flatnonzero(among)
    taken = keys.take(pa.array(rows))
    taken = taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken
    codes = pc.dictionary_encode(taken).indices.to_numpy(zero_copy_only=False)
    later = np.ones(len(rows), dtype=bool)
    later[np.unique(codes, return_index=True)[1]] = False
    out = np.zeros(len(keys), dtype=bool)
    out[rows[later]] = True
    return out


def repeated_tx_ids(tx_ids: pa.Array | pa.ChunkedArray, accepted: pd.Series) -> pd.Series:
    """`tx_id.unique` for accepted rows whose tx_id an earlier accepted row (in file order: arrival order) had."""
    return no_rule(accepted.index).mask(repeated(tx_ids, accepted.to_numpy(dtype=bool)), TX_UNIQUE)


def label_verdicts(labels: pa.Table, transactions: pa.Table, accepted: pd.Series) -> pd.Series:
    """`tx_id.known` and `label.unique` for labels that passed their field rules, as the stream decides them.

    A label counts if a transaction with its tx_id came at or before it, at most
    `UNIQUE_WITHIN_MS` earlier; of a transaction's labels, the earliest (then the first
    in the file) counts, the others are duplicates. `labels` as `check` gives them;
    `transactions` needs tx_id and event_time (the first of a tx_id counts).
    """
    event_time = by_tx_id(labels["tx_id"], transactions, "event_time").to_numpy(zero_copy_only=False).astype("float64")
    with np.errstate(invalid="ignore"):
        gap = labels["label_time"].to_numpy(zero_copy_only=False) - event_time
        known = (gap >= 0) & (gap <= UNIQUE_WITHIN_MS)
    ok = accepted.to_numpy(dtype=bool)
    verdict = no_rule(accepted.index).mask(ok & ~known, TX_KNOWN)
    counted = ok & known
    order = np.flatnonzero(counted)[np.argsort(labels["label_time"].to_numpy(zero_copy_only=False)[counted], kind="stable")]
    later = np.zeros(len(ok), dtype=bool)
    later[order] = repeated(labels["tx_id"].combine_chunks().take(pa.array(order)), np.ones(len(order), dtype=bool))
    return verdict.mask(later, LABEL_UNIQUE)
