"""What enters the feature engine from the topics, and what is set aside, with the reason.

Each topic's messages were checked against `udfs.validation` where they were read
(`jobs.sources.read_topic`). Admission (`jobs/engine/src/skewless/engine/Admission.java`)
then routes them: a broken rule to the dead letters; a message at or behind the
watermark it arrived under to the late records (it could no longer be placed in its
entity's history in time order); a repeated tx_id, or a label of no known transaction,
to the dead letters too. The rest, with a stream's bootstrap history, is the engine's input.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

from jobs.event_time import LATE_REASON
from udfs.validation import RECORDS, UNIQUE_WITHIN_MS


@dataclass(frozen=True)
class Admitted:
    events: DataStream
    """The feature engine's input rows: transactions and labels in one stream."""
    dead_letters: dict[str, DataStream]
    """Per record kind: (k, v, headers, ts) rows for the kind's dead-letter topic."""
    late: dict[str, DataStream]
    """Per record kind: the same shape, for the kind's late topic."""


def admit(received: list[DataStream], history: DataStream | None, lateness_ms: int) -> Admitted:
    """`received`: the transactions' and the labels' checked messages, in `RECORDS` order."""
    transactions, labels = (stream._j_data_stream for stream in received)
    admission = get_gateway().jvm.skewless.engine.Admission.of(
        transactions, labels, history._j_data_stream if history is not None else None, UNIQUE_WITHIN_MS,
        LATE_REASON.format(lateness_ms=lateness_ms),
    )
    return Admitted(
        DataStream(admission.events()),
        {kind.name: DataStream(admission.deadLetters(kind.name)) for kind in RECORDS},
        {kind.name: DataStream(admission.late(kind.name)) for kind in RECORDS},
    )
