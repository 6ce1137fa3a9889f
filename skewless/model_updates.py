"""Promotions broadcast on `model-updates`: a running scoring operator switches models without a restart.

A message is the whole model: the UBJ bytes as value, and version, sha256, feature list
and promotion time as headers. Every scoring subtask, on any machine, can check and
load it without a shared disk. All messages share one key, so they stay in order on
one partition.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict

import xgboost as xgb
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaConnectionError

from models.registry import MODEL_FILE, ModelMeta, Registry, sha256_of
from skewless.config import Settings
from skewless.errors import SkewlessError

log = logging.getLogger(__name__)
KEY = b"model"


def _reachable(bootstrap_servers: str) -> bool:
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return True
        except (OSError, ValueError):
            continue
    return False


def publish(settings: Settings, version: str) -> None:
    """Broadcast a registered (already promoted) version to running stream jobs."""
    if not _reachable(settings.kafka.bootstrap_servers):
        raise KafkaConnectionError(f"no broker answers at {settings.kafka.bootstrap_servers}")
    registry = Registry(settings.models_dir)
    _, meta = registry.load(version)  # checksum verified before anything leaves
    headers = [
        ("version", version.encode()), ("sha256", meta.sha256.encode()),
        ("meta", json.dumps(asdict(meta)).encode()), ("promoted_at", str(int(time.time() * 1000)).encode()),
    ]
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, max_request_size=16 * 1024 * 1024,
                             max_block_ms=10_000)
    try:
        producer.send(settings.topics.model_updates, key=KEY, value=(registry.root / version / MODEL_FILE).read_bytes(),
                      headers=headers).get(timeout=30)
    finally:
        producer.close()


class ModelFollower:
    """Reads `model-updates` in a background thread and hands each newer, valid model to `on_model`.

    Only promotions after `since_ms` apply (the operator loaded the registry's current
    version then); a message whose bytes do not match its checksum is logged and skipped.
    """

    def __init__(self, settings: Settings, since_ms: int, on_model: Callable[[xgb.Booster, ModelMeta], None]) -> None:
        self.settings, self.since_ms, self.on_model = settings, since_ms, on_model
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="model-follower", daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        topic = self.settings.topics.model_updates
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka.bootstrap_servers, enable_auto_commit=False,
                                 fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
        try:
            consumer.assign([TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})])
            consumer.seek_to_beginning()
            while not self.stopped.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        self._apply(record.value, {k: v.decode() for k, v in record.headers or []})
        finally:
            consumer.close()

    def _apply(self, model: bytes, headers: dict[str, str]) -> None:
        if int(headers.get("promoted_at", 0)) <= self.since_ms:
            return
        try:
            if sha256_of(model) != headers["sha256"]:
                raise SkewlessError(f"model {headers.get('version')} on {self.settings.topics.model_updates} fails its checksum")
            booster = xgb.Booster()
            booster.load_model(bytearray(model))
            self.on_model(booster, ModelMeta(**json.loads(headers["meta"])))
        except (SkewlessError, KeyError, ValueError, xgb.core.XGBoostError) as exc:
            log.error("model update refused", extra={"version": headers.get("version"), "reason": str(exc)})

    def close(self) -> None:
        self.stopped.set()
