"""The live producer batches as configured: the embedded broker slows with every batch it holds (docs/stack.md)."""

from __future__ import annotations

import skewless.messaging.producer as producer_module
from skewless.config import load_settings
from skewless.messaging.producer import LiveProducer


class _Recorder:
    """Stands in for kafka-python's producer: only its arguments matter here."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs


def test_records_wait_the_configured_linger_to_share_a_batch(monkeypatch):
    monkeypatch.setattr(producer_module, "KafkaProducer", _Recorder)
    default = LiveProducer(load_settings(environ={}))
    tuned = LiveProducer(load_settings(environ={"SKEWLESS_KAFKA__PRODUCER_LINGER_MS": "35"}))
    assert default.producer.kwargs["linger_ms"] == 20
    assert tuned.producer.kwargs["linger_ms"] == 35
    assert default.producer.kwargs["max_in_flight_requests_per_connection"] == 1  # each card's order kept
