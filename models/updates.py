"""Promotions broadcast on `model-updates`: a running scoring operator switches models without a restart.

A message is the whole model: the UBJ bytes as value, and version, sha256, feature list
and promotion time as headers. Every scoring subtask, on any machine, can check and
load it without a shared disk. All messages share one key, so they stay in order on
one partition.

Whoever can write to the topic could otherwise replace the model, and the checksum
travels in the same message: every message is signed (HMAC-SHA256 over the signed
headers and the model bytes) with a key only the registry's writers and the jobs hold
(`ModelUpdateSettings`). A follower refuses anything unsigned, wrongly signed, too large,
or that does not load and score a probe row, and keeps the model it has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaConnectionError

from models.registry import MODEL_FILE, ModelMeta, Registry, sha256_of
from models.scoring import Scorer
from skewless.config import Settings
from skewless.errors import SkewlessError
from udfs.features import model_inputs
from udfs.units import now_ms

log = logging.getLogger(__name__)
KEY = b"model"
SIGNED_HEADERS = ("version", "sha256", "meta", "promoted_at")
MAX_MODEL_BYTES = 16 * 1024 * 1024
"""Larger values are refused before anything parses them (and the consumer fetches no more per partition)."""


def update_key(settings: Settings) -> bytes | None:
    """The signing key: from the settings, else the data directory's key file, else none."""
    if settings.model_updates.key is not None:
        return settings.model_updates.key.get_secret_value().encode()
    path = settings.model_update_key_file
    return path.read_bytes().strip() if path.exists() else None


def ensure_update_key(settings: Settings) -> Path | None:
    """The embedded stack's key file, created (owner-only) if no key is configured; None when the settings hold one."""
    if settings.model_updates.key is not None:
        return None
    path = settings.model_update_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    return path


def signature(key: bytes, headers: dict[str, bytes], model: bytes) -> str:
    """HMAC-SHA256 over each signed header (name, length, value) and the model bytes."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for name in SIGNED_HEADERS:
        value = headers.get(name, b"")
        mac.update(f"{name}:{len(value)}:".encode() + value)
    mac.update(model)
    return mac.hexdigest()


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
    key = update_key(settings)
    if key is None:
        raise SkewlessError(f"no model-update key: set SKEWLESS_MODEL_UPDATES__KEY or run `skewless up` "
                            f"(it creates {settings.model_update_key_file})")
    registry = Registry(settings.models_dir)
    _, meta = registry.load(version)  # checksum verified before anything leaves
    model = (registry.root / version / MODEL_FILE).read_bytes()
    headers = {"version": version.encode(), "sha256": meta.sha256.encode(), "meta": json.dumps(asdict(meta)).encode(),
               "promoted_at": str(now_ms()).encode()}
    headers["signature"] = signature(key, headers, model).encode()
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, max_request_size=MAX_MODEL_BYTES + 65536,
                             max_block_ms=10_000)
    try:
        producer.send(settings.topics.model_updates, key=KEY, value=model, headers=list(headers.items())).get(timeout=30)
    finally:
        producer.close()


class Refused(Exception):
    """A model-update message that must not be applied; the message says why."""


class ModelFollower:
    """Reads `model-updates` in a background thread and hands each newer, verified model to `on_model`, ready to score.

    Only promotions after `since_ms` apply (the operator loaded the registry's current
    version then). Anything else is refused with the reason in the log, and the thread
    goes on to the next message: no message can stop it.
    """

    def __init__(self, settings: Settings, since_ms: int, on_model: Callable[[Scorer], None]) -> None:
        self.settings, self.since_ms, self.on_model = settings, since_ms, on_model
        self.key = update_key(settings)
        if self.key is None:
            log.warning("no model-update key configured: every model update will be refused",
                        extra={"key_file": str(settings.model_update_key_file)})
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="model-follower", daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        topic = self.settings.topics.model_updates
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka.bootstrap_servers, enable_auto_commit=False,
                                     fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=MAX_MODEL_BYTES + 65536)
        except Exception as exc:  # noqa: BLE001  (no broker: this job keeps its model, and says so)
            log.error("model updates unavailable", extra={"topic": topic, "reason": f"{type(exc).__name__}: {exc}"})
            return
        try:
            consumer.assign([TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})])
            consumer.seek_to_beginning()
            while not self.stopped.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        self.receive(record.value, record.headers or [])
        finally:
            consumer.close()

    def receive(self, model: bytes | None, headers: list[tuple[str, bytes]]) -> bool:
        """Apply one message if it passes every check; True if it was applied. Never raises."""
        version = "?"
        try:
            fields = dict(headers)
            version = fields.get("version", b"?").decode("utf-8", "replace")[:64]
            if self._verified(model, fields):
                return True
        except Refused as exc:
            log.error("model update refused", extra={"version": version, "reason": str(exc)})
        except Exception as exc:  # noqa: BLE001  (a message must never stop the follower)
            log.error("model update refused", extra={"version": version, "reason": f"{type(exc).__name__}: {exc}"})
        return False

    def _verified(self, model: bytes | None, fields: dict[str, bytes]) -> bool:
        try:
            promoted_at = int(fields["promoted_at"])
        except (KeyError, ValueError) as exc:
            raise Refused("no valid promoted_at header") from exc
        if promoted_at <= self.since_ms:
            return False
        if self.key is None:
            raise Refused("no model-update key configured (SKEWLESS_MODEL_UPDATES__KEY or the data directory's key file)")
        if "signature" not in fields:
            raise Refused("unsigned")
        if not model or len(model) > MAX_MODEL_BYTES:
            raise Refused(f"the model has {len(model or b'')} bytes: expected 1 to {MAX_MODEL_BYTES}")
        if not hmac.compare_digest(fields["signature"], signature(self.key, fields, model).encode()):
            raise Refused("the signature does not match: not signed with this job's key")
        if sha256_of(model) != fields["sha256"].decode():
            raise Refused("the model bytes fail their checksum")
        meta = ModelMeta(**json.loads(fields["meta"]))
        booster = xgb.Booster()
        booster.load_model(bytearray(model))
        self.on_model(_probed(booster, meta))
        return True
    def close(self) -> None:
        self.stopped.set()


def _probed(booster: xgb.Booster, meta: ModelMeta) -> Scorer:
    """The model as the scoring step will use it, after one probe row: it loads, fits the features and scores in [0, 1]."""
    scorer = Scorer(booster, meta)
    probe = scorer.score(pd.DataFrame({name: [np.nan] for name in model_inputs()}))
    if probe.shape != (1,) or not 0.0 <= float(probe[0]) <= 1.0:
        raise Refused(f"the model scores a probe row as {probe!r}, not one probability")
    return scorer
