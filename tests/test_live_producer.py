"""The live producer batches as configured: the embedded broker slows with every batch it holds (docs/stack.md)."""

from __future__ import annotations

import pandas as pd
import pytest

import skewless.messaging.producer as producer_module
from skewless.config import load_settings
from skewless.errors import SkewlessError
from skewless.messaging.producer import LiveProducer
from skewless.schema import TRANSACTION_COLUMNS


class _Recorder:
    """Stands in for confluent-kafka's producer: only its configuration matters here."""

    def __init__(self, config: dict) -> None:
        self.config = config


def test_records_wait_the_configured_linger_to_share_a_batch(monkeypatch):
    monkeypatch.setattr(producer_module, "Producer", _Recorder)
    default = LiveProducer(load_settings(environ={}))
    tuned = LiveProducer(load_settings(environ={"SKEWLESS_KAFKA__PRODUCER_LINGER_MS": "35"}))
    assert default.producer.client.config["linger.ms"] == 20
    assert tuned.producer.client.config["linger.ms"] == 35
    assert default.producer.client.config["max.in.flight.requests.per.connection"] == 1  # each card's order kept


class _Refusing(_Recorder):
    """A producer whose broker refuses every record."""

    def produce(self, topic, value, key, partition, on_delivery) -> None:
        on_delivery("Broker: Unknown topic or partition", None)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def test_a_record_the_broker_refuses_fails_the_run_with_the_broker_named(monkeypatch):
    monkeypatch.setattr(producer_module, "Producer", _Refusing)
    settings = load_settings(environ={})
    producer = LiveProducer(settings)
    transactions = pd.DataFrame([{**dict.fromkeys(TRANSACTION_COLUMNS, 0), "tx_id": "t1", "cc_num": "c1",
                                  "merchant_id": "m1", "event_time": 0}])
    labels = pd.DataFrame([{"tx_id": "t1", "is_fraud": 0}])
    with pytest.raises(SkewlessError, match=f"2 refused by the broker at {settings.kafka.bootstrap_servers}.*Unknown topic"):
        producer.replay(transactions.assign(arrival=0), labels.assign(merchant_id="m1", label_time=1, arrival=1))
