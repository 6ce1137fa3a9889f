"""The load generator in a process of its own, as a payment system's producers are.

A local stream job runs its Python scoring worker inside the process that submitted
the job (PyFlink's loopback mode). A producer in that same process would share its
interpreter lock with the system under test and add its own pacing, encoding and
checksums to the latency being measured.

The child is a fresh interpreter (`python -m bench.producer_process`) that imports only
the producer: a forked or spawned copy of the benchmark would carry, or import again,
the job's PyFlink state. Requests and reports are pickled over its stdin and stdout.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd

from skewless.config import Settings
from skewless.messaging.producer import LiveProducer, ProduceReport


class ProducerProcess:
    """`LiveProducer.run` in a child process: one call at a time, the report comes back."""

    def __init__(self, settings: Settings) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.producer_process"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent)
        self._send(settings)

    def _send(self, request: object) -> None:
        pickle.dump(request, self.process.stdin)
        self.process.stdin.flush()

    def run(self, transactions: pd.DataFrame, labels: pd.DataFrame, label_delay_s: float) -> ProduceReport:
        self._send((transactions, labels, label_delay_s))
        return pickle.load(self.process.stdout)

    def close(self) -> None:
        self._send(None)
        self.process.wait(timeout=30)


def _serve() -> None:
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    producer = LiveProducer(pickle.load(requests))
    try:
        for transactions, labels, label_delay_s in iter(lambda: pickle.load(requests), None):
            pickle.dump(producer.run(transactions, labels, label_delay_s=label_delay_s), replies)
            replies.flush()
    finally:
        producer.close()


if __name__ == "__main__":
    _serve()
