"""A finite live run: stream a known set of transactions through the real streaming job.

The job starts at the topic's current end and stops exactly after these records
(their partitions are known before sending), so it ends on its own, flushes every
window, and each transaction can be accounted for. The demo, the end-to-end test and
the parity check use it; a production stream simply never stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pyflink.common import JobStatus
from pyflink.table import TableResult

from jobs.sources import Bootstrap, Offsets
from jobs.stream import start_stream
from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.messaging.producer import LiveProducer, ProduceReport, plan_partitions, true_end_offsets
from skewless.messaging.topics import ensure_topics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiniteRunReport:
    produced: ProduceReport
    job_seconds: float
    start_offsets: Offsets
    stop_offsets: Offsets
    outputs_from: Offsets
    """Where this run's records begin on the scores and late topics, per partition."""


def run_finite_stream(
    settings: Settings, transactions: pd.DataFrame, labels: pd.DataFrame, send: Callable[[LiveProducer], ProduceReport],
    bootstrap: Bootstrap | None = None,
) -> FiniteRunReport:
    """Run the streaming job over exactly `transactions` and `labels`, which `send` produces (live or replay)."""
    ensure_topics(settings)
    topics, partitions = settings.topics, settings.topics.partitions
    start, stop = plan_offsets(settings, transactions, labels)
    outputs = (topics.scores, topics.late_transactions, topics.late_labels)
    outputs_from = {t: true_end_offsets(settings, t, partitions) for t in outputs}
    started = time.monotonic()
    job = start_stream(settings, start_offsets=start, stop_offsets=stop, bootstrap=bootstrap)
    log.info("stream job submitted", extra={"start": start, "stop": stop})
    wait_running(job)

    outcome: list[ProduceReport | BaseException] = []
    producer = LiveProducer(settings)

    def produce() -> None:
        try:
            outcome.append(send(producer))
        except BaseException as exc:  # handed to the main thread, which cancels the job
            outcome.append(exc)
        finally:
            producer.close()

    thread = threading.Thread(target=produce, name="live-producer", daemon=True)
    thread.start()
    while not _finished(job):
        if outcome and isinstance(outcome[0], BaseException):
            job.get_job_client().cancel().result()
            raise SkewlessError(f"producing the live transactions failed: {outcome[0]}") from outcome[0]
    thread.join()
    return FiniteRunReport(outcome[0], time.monotonic() - started, start, stop, outputs_from)


def plan_offsets(settings: Settings, transactions: pd.DataFrame, labels: pd.DataFrame) -> tuple[Offsets, Offsets]:
    """(start, stop) offsets of the input topics that hold exactly these records once they are sent."""
    topics, partitions = settings.topics, settings.topics.partitions
    start = {t: true_end_offsets(settings, t, partitions) for t in (topics.transactions, topics.labels)}
    plans = {topics.transactions: plan_partitions(transactions["cc_num"], partitions),
             topics.labels: plan_partitions(labels["tx_id"], partitions)}
    return start, {t: {p: start[t][p] + plans[t].get(p, 0) for p in range(partitions)} for t in start}


def wait_running(job: TableResult, timeout_s: float = 120.0) -> None:
    """Produce only once the job runs, so start-up time is not counted as latency."""
    client = job.get_job_client()
    deadline = time.monotonic() + timeout_s
    while client.get_job_status().result() != JobStatus.RUNNING:
        if time.monotonic() > deadline or _finished(job, poll_ms=200):
            raise SkewlessError(f"the streaming job did not start within {timeout_s:.0f}s (status {client.get_job_status().result()})")


def _finished(job: TableResult, poll_ms: int = 500) -> bool:
    try:
        job.wait(poll_ms)
        return True
    except Exception as exc:  # py4j wraps Java's TimeoutException
        if "TimeoutException" in str(exc):
            return False
        raise
