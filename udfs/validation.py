"""Every input rule, declared once, as data: what a transaction or a label must be to enter.

Both jobs apply these same rules: the stream in the JVM, on the raw Kafka bytes, before
anything else touches the record (`jobs/engine/src/skewless/engine/Rules.java`, spec
from `rules_spec`); the backfill on the history it stages (`skewless.validation`). A
record passes every rule or is set aside with the name of the first rule it breaks, in
the order below: the dead-letter topic in the stream, the rejected file in the backfill.

Rule names are `<field>.<check>` (`amount.range`, `event_time.required`) or
`record.<check>` for the message as a whole (`record.json`). They are the contract a
dead-letter consumer reads: renaming one is a breaking change.

Why the bounds:
- a zero amount is valid (card checks and account verifications are $0 authorisations),
  a negative one is a refund, which is not a purchase; amounts stay below 10^10 so cents
  fit a long with room for sums;
- a location is both coordinates or neither (card-not-present);
- an event time before 2000 is a unit error (seconds, not milliseconds), and one more than
  `max_future_ms` after the record arrived (its Kafka timestamp; in the backfill, the
  time the backfill runs) would drag event time for everybody else into the future;
- a `tx_id` is unique among the transactions of the last `UNIQUE_WITHIN_MS`, and a label
  must name a transaction of that span, at or before the label's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from udfs.units import DAY_MS, HOUR_MS

FieldType = Literal["string", "number", "integer"]

MAX_RECORD_BYTES = 64 * 1024
EARLIEST_EVENT_MS = 946_684_800_000
"""2000-01-01T00:00:00Z."""
MAX_FUTURE_MS = 24 * HOUR_MS
UNIQUE_WITHIN_MS = 30 * DAY_MS
"""How long the stream remembers a tx_id: the longest label-rate window, past which a label changes no feature."""


@dataclass(frozen=True)
class Field:
    """A field of a record: its JSON type, whether it must be there, and its closed range.

    `below` is an open upper bound (for amounts: strictly below it). `future` bounds an
    event time by the record's arrival time.
    """

    name: str
    type: FieldType
    required: bool = True
    low: float | None = None
    high: float | None = None
    below: float | None = None
    future: bool = False
    sql: str | None = None
    """Its Flink SQL type where the JSON type's default (STRING, DOUBLE, BIGINT) is not the one."""

    def rule(self, check: str) -> str:
        return f"{self.name}.{check}"


@dataclass(frozen=True)
class RecordKind:
    """One input topic's records: its fields in order, and the rules that span fields."""

    name: str
    fields: tuple[Field, ...]
    pair: tuple[str, str] | None = None
    """Two fields that are set together or not at all."""
    time_field: str = "event_time"


TRANSACTION_RECORD = RecordKind("transaction", (
    Field("tx_id", "string"),
    Field("cc_num", "string"),
    Field("merchant_id", "string"),
    Field("amount", "number", low=0, below=1e10, sql="DECIMAL(12, 2)"),  # exact cents from a file's text
    Field("lat", "number", required=False, low=-90, high=90),
    Field("lon", "number", required=False, low=-180, high=180),
    Field("event_time", "integer", low=EARLIEST_EVENT_MS, future=True),
    Field("category", "string", required=False),
), pair=("lat", "lon"))
LABEL_RECORD = RecordKind("label", (
    Field("tx_id", "string"),
    Field("merchant_id", "string"),
    Field("is_fraud", "integer", low=0, high=1, sql="INT"),
    Field("label_time", "integer", low=EARLIEST_EVENT_MS, future=True),
), time_field="label_time")
RECORDS = (TRANSACTION_RECORD, LABEL_RECORD)

RECORD_SIZE, RECORD_UTF8, RECORD_JSON = "record.size", "record.utf8", "record.json"
LOCATION_PAIR = "location.pair"
TX_UNIQUE, TX_KNOWN, LABEL_UNIQUE = "tx_id.unique", "tx_id.known", "label.unique"
STAGES = {"parse": (RECORD_SIZE, RECORD_UTF8, RECORD_JSON), "dedupe": (TX_UNIQUE, TX_KNOWN, LABEL_UNIQUE)}
"""Rules outside `validate` (a field's own rules), by the stage that applies them."""


def rule_names(kind: RecordKind) -> tuple[str, ...]:
    """Every rule a record of `kind` can break, in the order they are checked."""
    names = [RECORD_SIZE, RECORD_UTF8, RECORD_JSON]
    for field in kind.fields:
        names += [field.rule("required"), field.rule("type")]
        if field.low is not None or field.high is not None or field.below is not None or field.future:
            names.append(field.rule("range"))
    if kind.pair:
        names.append(LOCATION_PAIR)
    names += [TX_UNIQUE] if kind is TRANSACTION_RECORD else [LABEL_UNIQUE, TX_KNOWN]
    return tuple(names)


def _bound(value: float | None) -> str:
    return "-" if value is None else repr(float(value))


def rules_spec(kind: RecordKind, max_record_bytes: int = MAX_RECORD_BYTES, max_future_ms: int = MAX_FUTURE_MS) -> str:
    """The JVM validator's spec: a header line, then one line per field.

    >>> print(rules_spec(LABEL_RECORD))
    label 65536 86400000 - -
    tx_id string 1 - - - 0
    merchant_id string 1 - - - 0
    is_fraud integer 1 0.0 1.0 - 0
    label_time integer 1 946684800000.0 - - 1
    """
    pair = " ".join(kind.pair) if kind.pair else "- -"
    lines = [f"{kind.name} {max_record_bytes} {max_future_ms} {pair}"]
    for f in kind.fields:
        lines.append(f"{f.name} {f.type} {int(f.required)} {_bound(f.low)} {_bound(f.high)} {_bound(f.below)} {int(f.future)}")
    return "\n".join(lines)
