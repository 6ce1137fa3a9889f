"""Every record skewless reads or writes, declared once; each representation is derived here.

The input records (a transaction, a label) are declared with their rules in
`udfs.validation`; the score record is declared below. Their column lists, Flink SQL
types, the keys a message carries and the README's message table come from these
declarations, so a field added to one reaches every reader and writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from udfs.features import FEATURES, TRANSACTION_INPUTS
from udfs.validation import RecordKind

_SQL_TYPES = {"string": "STRING", "number": "DOUBLE", "integer": "BIGINT"}
_FEATURE_SQL = {"float64": "DOUBLE", "int64": "BIGINT"}


def columns(kind: RecordKind) -> tuple[str, ...]:
    """A record's fields, in order: the column order of its files, messages and tables."""
    return tuple(f.name for f in kind.fields)


def string_columns(kind: RecordKind) -> tuple[str, ...]:
    return tuple(f.name for f in kind.fields if f.type == "string")


def file_columns(kind: RecordKind) -> tuple[str, ...]:
    """The columns a history file must have: every required field, and both of a pair (whose values may be empty)."""
    paired = set(kind.pair or ())
    return tuple(f.name for f in kind.fields if f.required or f.name in paired)


def sql_columns(kind: RecordKind) -> str:
    """`name TYPE, ...` for a Flink table of the record; a field's own `sql` type wins (exact cents: DECIMAL)."""
    return ", ".join(f"{f.name} {f.sql or _SQL_TYPES[f.type]}" for f in kind.fields)


def message_keys(kind: RecordKind) -> str:
    """The keys of the record's JSON message, as the README lists them."""
    return "{" + ", ".join(f'"{name}"' for name in columns(kind)) + "}"


@dataclass(frozen=True)
class Column:
    name: str
    sql: str


FEATURE_ROW_KEYS = ("tx_id", "cc_num", "merchant_id", "event_time", "amount")
"""What identifies a feature row, before its features: the engine's output, the offline table, the served log."""
SCORE_HEAD = (
    Column("tx_id", "STRING"), Column("cc_num", "STRING"), Column("score", "DOUBLE"), Column("decision", "INT"),
    Column("policy", "STRING"), Column("model_version", "STRING"), Column("event_time", "BIGINT"), Column("scored_at", "BIGINT"),
)
SCORE_RECORD: tuple[Column, ...] = (
    *SCORE_HEAD,
    *(Column(name, "DOUBLE") for name in TRANSACTION_INPUTS),
    *(Column(f.name, _FEATURE_SQL[f.dtype]) for f in FEATURES),
)
"""A message on `fraud-scores`: who, the score and its decision, then every model input it was computed from (flat).

`decision` is 1 when the score reaches the threshold of the decision rule named in `policy`
(`models.policy.serving_rule`: the model's stored rule unless the settings override it)."""
DEAD_LETTER_PREFIX = "__connect.errors."
DEAD_LETTER_HEADERS = tuple(DEAD_LETTER_PREFIX + name for name in (
    "topic", "partition", "offset", "stage", "exception.class.name", "exception.message"))
RULE_HEADER = "skewless.rule"
"""A message set aside (dead letter or late) keeps its key, value and timestamp; these headers say where it came from and why.

Kafka Connect's dead-letter convention, plus the rule's name. The JVM writes them
(`Received.java`); `tests/test_records.py` holds it to this list."""
