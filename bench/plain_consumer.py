"""The baseline a user would write instead of skewless: a plain-Python Kafka consumer.

Same features (driven by `udfs.features`), same model, same stores, no Flink: one
consumer reads transactions and labels; per card and merchant a deque per window with
running sums; each poll's batch gets one vectorised distance, one vectorised predict,
one online write (skewless's own `OnlineWriter`, so both sides pay the same for the
store), and its scores produced to Kafka. It takes rows in
arrival order and waits for no watermark, as such consumers do: quicker to write,
without skewless's guarantees (ties, disorder, parity with the backfill).

    python -m bench.plain_consumer --count 200000   (run by bench.stream_latency on the same backlog)
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, KafkaException, TopicPartition

from models.scoring import Scorer
from skewless.config import Settings
from skewless.featurestore.online import OnlineWriter
from skewless.messaging.producer import Sender
from udfs.features import FEATURES, NIGHT_HOURS, Calendar, KmFromMean, LabelRate, PrevTx, Ratio, WindowAgg, model_inputs
from udfs.geo import haversine_km

_WINDOWS = [f for f in FEATURES if isinstance(f, WindowAgg)]
_RATES = [f for f in FEATURES if isinstance(f, LabelRate)]
_PLACES = [f for f in FEATURES if isinstance(f, KmFromMean)]
_KEYS = ("cc_num", "merchant_id")


@dataclass
class _Window:
    """One entity's rows in one window: a deque and running sums."""

    size_ms: int
    rows: deque = field(default_factory=deque)
    total: float = 0.0

    def add(self, t: int, value: float) -> None:
        self.rows.append((t, value))
        self.total += value

    def value(self, how: str) -> float:
        if how == "count":
            return len(self.rows)
        if how == "sum":
            return self.total
        if how == "mean":
            return self.total / len(self.rows)
        return max(v for _, v in self.rows)

    def expire(self, oldest: int) -> None:
        while self.rows and self.rows[0][0] < oldest:
            self.total -= self.rows.popleft()[1]


@dataclass
class _Places:
    """One card's located transactions in one window: a deque and running sums of latitude and longitude."""

    size_ms: int
    rows: deque = field(default_factory=deque)
    lat: float = 0.0
    lon: float = 0.0

    def add(self, t: int, lat: float, lon: float) -> None:
        self.rows.append((t, lat, lon))
        self.lat += lat
        self.lon += lon

    def expire(self, oldest: int) -> None:
        while self.rows and self.rows[0][0] < oldest:
            _, lat, lon = self.rows.popleft()
            self.lat -= lat
            self.lon -= lon

    def mean_of_others(self, lat: float, lon: float) -> tuple[float, float]:
        others = len(self.rows) - 1
        return ((self.lat - lat) / others, (self.lon - lon) / others) if others > 0 else (np.nan, np.nan)


class PlainFeatures:
    """Incremental features in plain Python, one transaction at a time."""

    def __init__(self) -> None:
        self.windows = {key: defaultdict(lambda key=key: {f: _Window(f.window_s * 1000) for f in _WINDOWS if f.entity.key == key})
                        for key in _KEYS}
        self.labels = defaultdict(lambda: {f: _Window(f.window_s * 1000) for f in _RATES})
        self.previous: dict[str, tuple[int, float, float]] = {}
        self.places = defaultdict(lambda: {f: _Places(f.window_s * 1000) for f in _PLACES})

    def label(self, record: dict) -> None:
        """Labels arrive at their label time: every label read so far is known to the next transaction."""
        for window in self.labels[record["merchant_id"]].values():
            window.add(record["label_time"], float(record["is_fraud"]))

    def transaction(self, tx: dict) -> dict:
        t, amount = tx["event_time"], tx["amount"]
        row = {"tx_id": tx["tx_id"], "cc_num": tx["cc_num"], "merchant_id": tx["merchant_id"], "event_time": t, "amount": amount}
        for key in _KEYS:
            for f, window in self.windows[key][tx[key]].items():
                window.add(t, amount)
                window.expire(t - window.size_ms)
                row[f.name] = window.value(f.how)
        for f, window in self.labels[tx["merchant_id"]].items():
            window.expire(t - window.size_ms)
            row[f.name] = window.total / len(window.rows) if window.rows else None
        for f, places in self.places[tx["cc_num"]].items():
            places.expire(t - places.size_ms)
            row[f"_mean_{f.name}"] = (np.nan, np.nan)
            if tx["lat"] is not None and tx["lon"] is not None:
                places.add(t, tx["lat"], tx["lon"])
                row[f"_mean_{f.name}"] = places.mean_of_others(tx["lat"], tx["lon"])
        prev = self.previous.get(tx["cc_num"])
        row["_prev"] = prev
        self.previous[tx["cc_num"]] = (t, tx["lat"], tx["lon"])
        hour = (t // 3_600_000) % 24
        calendar = {"hour_of_day": hour, "is_night": int(NIGHT_HOURS[0] <= hour <= NIGHT_HOURS[1]),
                    "is_weekend": int(((t // 86_400_000) + 3) % 7 >= 5)}
        for f in FEATURES:
            if isinstance(f, Calendar):
                row[f.name] = calendar[f.kind]
            elif isinstance(f, Ratio):
                row[f.name] = amount / row[f.denominator.name] if row[f.denominator.name] else None
        return row


def _with_distances(frame: pd.DataFrame, lats: np.ndarray, lons: np.ndarray) -> pd.DataFrame:
    """Distance, gap and speed from the previous transaction, and distance from the card's mean place, vectorised."""
    for f in _PLACES:
        mean = np.array(frame.pop(f"_mean_{f.name}").tolist(), dtype=float).reshape(-1, 2)
        frame[f.name] = haversine_km(mean[:, 0], mean[:, 1], lats, lons)
    prev = frame.pop("_prev")
    has = prev.notna().to_numpy()
    p = np.array([x if x is not None else (np.nan, np.nan, np.nan) for x in prev], dtype=float).reshape(-1, 3)
    seconds = np.where(has, (frame["event_time"].to_numpy() - p[:, 0]) / 1000, np.nan)
    km = haversine_km(p[:, 1], p[:, 2], lats, lons)
    values = {"km": km, "seconds": seconds, "kmh": km * 3600 / np.maximum(seconds, 1.0)}
    return frame.assign(**{f.name: values[f.kind] for f in FEATURES if isinstance(f, PrevTx)})


def drain(settings: Settings, start: dict[str, dict[int, int]], count: int, idle_s: float = 30.0) -> dict:
    """Consume from `start` until `count` transactions are scored; the report's clock starts at the first record.

    Kafka through confluent-kafka (librdkafka), the client a user after throughput picks: it fetches in
    threads of its own, and costs a twentieth of kafka-python's CPU per record produced (docs/stack.md).
    """
    topics = settings.topics
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": "skewless-plain-baseline",
                         "enable.auto.commit": False, "fetch.wait.max.ms": settings.kafka.fetch_max_wait_ms,
                         "max.partition.fetch.bytes": 16 * 1024 * 1024, "enable.metrics.push": False})
    consumer.assign([TopicPartition(t, p, o) for t, offsets in start.items() for p, o in offsets.items()])
    producer = Sender(settings, {"linger.ms": 5, "acks": 1, "batch.size": 1024 * 1024})
    scorer, writer, features = Scorer.from_registry(settings.models_dir), OnlineWriter(settings), PlainFeatures()
    scored, first_at, last_record = 0, None, time.monotonic()
    while scored < count and time.monotonic() - last_record < idle_s:
        polled = consumer.consume(num_messages=5000, timeout=0.2)
        batch = []
        for record in polled:
            if record.error() is not None:
                raise KafkaException(record.error())
            value = json.loads(record.value())
            if record.topic() == topics.labels:
                features.label(value)
            else:
                batch.append(value)
        if not polled:
            continue
        last_record = time.monotonic()
        first_at = first_at or time.time()
        if not batch:
            continue
        frame = pd.DataFrame([features.transaction(tx) for tx in batch])
        frame = _with_distances(frame, np.array([tx["lat"] if tx["lat"] is not None else np.nan for tx in batch], dtype=float),
                               np.array([tx["lon"] if tx["lon"] is not None else np.nan for tx in batch], dtype=float))
        scores = scorer.score(frame)
        writer.write(frame)
        for tx_id, cc_num, score, inputs in zip(frame["tx_id"], frame["cc_num"], scores, frame[list(model_inputs())].to_dict("records"),
                                               strict=True):
            out = {"tx_id": tx_id, "cc_num": cc_num, "score": float(score), "model_version": scorer.version, **inputs}
            producer.send(topics.scores + "-plain", cc_num.encode(), json.dumps(out, default=float).encode())
        scored += len(frame)
    producer.flush()
    ended_at = time.time()
    seconds = ended_at - (first_at or ended_at)
    consumer.close()
    return {"scored": scored, "seconds": round(seconds, 1), "tx/s": round(scored / seconds) if seconds else 0,
            "span": (first_at or ended_at, ended_at)}
