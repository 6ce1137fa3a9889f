"""Only the key holder can replace the model: forged, unsigned, truncated and malformed updates are refused.

The messages go through the real embedded broker to a real follower thread, on a
topic of their own; after every bad message the same thread applies a valid one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict

import numpy as np
import pytest
import xgboost as xgb
from kafka import KafkaProducer

from models.registry import MODEL_FILE, Registry
from models.updates import KEY, ModelFollower, publish, signature, update_key
from skewless.config import Settings
from skewless.messaging.topics import ensure_topics
from udfs.features import model_inputs
from udfs.units import now_ms

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def updates(trained_model: Settings) -> Settings:
    s = trained_model.model_copy(update={"topics": trained_model.topics.model_copy(update={"model_updates": "updates-signed"})})
    ensure_topics(s)
    return s


def _candidate(registry: Registry) -> str:
    names = list(model_inputs())
    x = np.random.default_rng(3).normal(size=(300, len(names)))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, label=x[:, 0] > 0, feature_names=names), 3)
    return registry.save(booster, names, {"rows": 300}, {}, promote=False).version


def _signed(s: Settings, version: str, model: bytes | None = None, key: bytes | None = None) -> tuple[bytes, dict[str, bytes]]:
    registry = Registry(s.models_dir)
    meta = registry.meta(version)
    model = (registry.root / version / MODEL_FILE).read_bytes() if model is None else model
    headers = {"version": version.encode(), "sha256": meta.sha256.encode(),
               "meta": json.dumps(asdict(meta)).encode(), "promoted_at": str(now_ms()).encode()}
    headers["signature"] = signature(key or update_key(s), headers, model).encode()
    return model, headers


def test_bad_updates_are_refused_and_the_follower_then_applies_a_signed_one(updates, caplog):
    s = updates
    registry = Registry(s.models_dir)
    version = _candidate(registry)
    good, headers = _signed(s, version)
    forged_model, forged = _signed(s, version, key=b"not the key")
    truncated = good[: len(good) // 2]
    bad = {
        "forged": (forged_model, forged),
        "unsigned": (good, {k: v for k, v in headers.items() if k != "signature"}),
        "truncated": (truncated, headers),
        "truncated, re-signed under the old checksum": _signed(s, version, model=truncated),
        "malformed headers": (good, {**headers, "meta": b"\xff{not json", "promoted_at": b"soon"}),
        "malformed meta": (good, {**headers, "meta": b"{not json"}),
        "empty": (b"", headers),
    }
    applied, done = [], threading.Event()

    def on_model(scorer) -> None:
        applied.append(scorer.version)
        done.set()

    producer = KafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
    for value, fields in bad.values():
        producer.send(s.topics.model_updates, key=KEY, value=value, headers=list(fields.items()))
    producer.flush()
    with caplog.at_level(logging.ERROR, logger="models.updates"):
        follower = ModelFollower(s, since_ms=0, on_model=on_model)
        try:
            time.sleep(3)  # every bad message read (the follower polls every 200 ms)
            assert applied == [] and follower.thread.is_alive()
            publish(s, version)  # the real path: registry, checksum, signature
            assert done.wait(30), "the valid update was not applied"
        finally:
            follower.close()
            producer.close()
    assert applied == [version]
    reasons = [r.reason for r in caplog.records if r.getMessage() == "model update refused"]
    assert len(reasons) == len(bad), reasons
    assert sum("signature does not match" in r for r in reasons) == 3  # forged, truncated, meta changed after signing
    assert {"unsigned", "the model bytes fail their checksum", "no valid promoted_at header"} <= set(reasons)


def test_without_a_key_every_update_is_refused(updates, caplog):
    s = updates.model_copy(update={"data_dir": updates.data_dir / "keyless"})
    applied = []
    with caplog.at_level(logging.WARNING, logger="models.updates"):
        follower = ModelFollower(s, since_ms=0, on_model=applied.append)
        model, headers = _signed(updates, Registry(updates.models_dir).current())
        assert follower.receive(model, list(headers.items())) is False
        follower.close()
    assert applied == []
    messages = [r.getMessage() for r in caplog.records]
    assert "no model-update key configured: every model update will be refused" in messages
