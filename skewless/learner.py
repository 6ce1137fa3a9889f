"""The online-update loop: chargebacks joined with the features that were served, a
warm-started candidate, the validation gate, and a promotion broadcast to the stream.

Training rows are the served feature vectors from `fraud-scores` (what the model saw,
not a recomputation), labelled by `fraud-labels` as labels arrive. Every
`every_labels` new labels, or every `every_s` seconds with at least one, a candidate
is proposed (`models.online`) on the most recent labelled rows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from kafka import KafkaConsumer, TopicPartition

from models.online import Decision, UpdatePolicy, propose
from models.registry import Registry
from skewless.config import Settings
from skewless.model_updates import publish
from udfs.features import model_inputs

log = logging.getLogger(__name__)


@dataclass
class LearnReport:
    scores_read: int = 0
    labels_read: int = 0
    labelled: int = 0
    decisions: list[dict[str, Any]] = field(default_factory=list)


class _Bounded(OrderedDict):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


class Learner:
    def __init__(self, settings: Settings, policy: UpdatePolicy, every_labels: int = 500, every_s: float = 300.0,
                 window: int = 50_000, retention: int = 500_000) -> None:
        self.settings, self.policy = settings, policy
        self.every_labels, self.every_s = every_labels, every_s
        self.served: _Bounded = _Bounded(retention)
        self.unmatched: _Bounded = _Bounded(retention)
        self.labelled: deque[dict[str, Any]] = deque(maxlen=window)
        self.report = LearnReport()
        self.stopped = threading.Event()
        self.last_label_at_ms = 0

    def run(self, once: bool = False, from_beginning: bool = False, idle_s: float = 3.0) -> LearnReport:
        """Follow both topics; with `once`, read until idle, propose once, and return."""
        topics = (self.settings.topics.scores, self.settings.topics.labels)
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka.bootstrap_servers, enable_auto_commit=False)
        try:
            consumer.assign([TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or {0})])
            consumer.seek_to_beginning() if from_beginning else consumer.seek_to_end()
            new_labels, last_update, last_record = 0, time.monotonic(), time.monotonic()
            while not self.stopped.is_set():
                batch = consumer.poll(timeout_ms=200)
                for tp, records in batch.items():
                    for record in records:
                        new_labels += self._take(tp.topic, json.loads(record.value))
                if batch:
                    last_record = time.monotonic()
                if once and time.monotonic() - last_record > idle_s:
                    self._update()
                    return self.report
                due = new_labels >= self.every_labels or (new_labels and time.monotonic() - last_update > self.every_s)
                if not once and due:
                    self._update()
                    new_labels, last_update = 0, time.monotonic()
            return self.report
        finally:
            consumer.close()

    def stop(self) -> None:
        self.stopped.set()

    def _take(self, topic: str, value: dict[str, Any]) -> int:
        """Returns 1 when a label met its served features."""
        tx_id = value["tx_id"]
        if topic == self.settings.topics.scores:
            self.report.scores_read += 1
            self.served[tx_id] = value
            label = self.unmatched.pop(tx_id, None)
        else:
            self.report.labels_read += 1
            label, value = value, self.served.get(tx_id)
            if value is None:
                self.unmatched[tx_id] = label
        if label is None or value is None:
            return 0
        self.labelled.append({**value, "is_fraud": int(label["is_fraud"]), "label_time": label["label_time"]})
        self.last_label_at_ms = int(time.time() * 1000)
        self.report.labelled += 1
        return 1

    def _update(self) -> Decision | None:
        if not self.labelled:
            return None
        registry = Registry(self.settings.models_dir)
        current, meta = registry.load()
        frame = pd.DataFrame(list(self.labelled))
        decision = propose(current, frame, self.policy)
        record: dict[str, Any] = {"serving": meta.version, "rows": len(frame), "promoted": "", "reason": decision.reason,
                                  "last_label_at_ms": self.last_label_at_ms}
        if decision.promote and decision.candidate is not None:
            training = {
                "kind": "warm start", "window_start_ms": int(frame["event_time"].min()),
                "window_end_ms": int(frame["event_time"].max()), "label_cutoff_ms": int(frame["label_time"].max()),
                "rows": decision.train_rows, "positives": int(frame["is_fraud"].sum()), "trees_added": self.policy.rounds,
                "trees_total": decision.candidate.num_boosted_rounds(),
            }
            metrics = {"average_precision": decision.candidate_ap, "serving_average_precision": decision.current_ap,
                       "holdout_rows": float(decision.holdout_rows), "holdout_positives": float(decision.holdout_positives)}
            new = registry.save(decision.candidate, list(model_inputs()), training, metrics, promote=True)
            publish(self.settings, new.version)
            record.update(promoted=new.version, published_at_ms=int(time.time() * 1000))
        log.info("update decided", extra=record)
        self.report.decisions.append(record)
        return decision
