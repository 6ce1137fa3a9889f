"""The online-update loop: chargebacks joined with the features that were served, a
warm-started candidate, the validation gate, and a promotion broadcast to the stream.

Training rows are the served feature vectors from `fraud-scores` (what the model saw,
not a recomputation), labelled by `fraud-labels` as labels arrive. Every
`every_labels` new labels, or every `every_s` seconds with at least one, a candidate
is proposed (`models.online`) on the most recent labelled rows.

A drift event on `model-drift` (a window whose PSI crossed the threshold, `jobs.monitoring`)
asks for a candidate at once, if any labelled rows wait; it goes through the same gate:
drift never promotes a model by itself.

Labels pass the same rules as everywhere (`udfs.validation`, applied per poll by
`skewless.validation`): an invalid label, or a second label of a transaction, is
dropped and counted, never trained on, and never stops the learner.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from kafka import KafkaConsumer, TopicPartition

from models.online import Decision, UpdatePolicy, propose
from models.registry import Registry
from models.updates import publish
from skewless.config import Settings
from skewless.validation import check, message_frame
from udfs.features import model_inputs
from udfs.units import now_ms
from udfs.validation import LABEL_RECORD, LABEL_UNIQUE

log = logging.getLogger(__name__)


@dataclass
class LearnReport:
    scores_read: int = 0
    scores_unreadable: int = 0
    labels_read: int = 0
    labels_dropped: Counter[str] = field(default_factory=Counter)
    """Dropped labels per rule: invalid ones, and `label.unique` for a transaction labelled already."""
    labelled: int = 0
    drift_events: int = 0
    """Drifted windows read from the drift topic; each asks for an early candidate."""
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
        self.labelled_ids: _Bounded = _Bounded(retention)
        self.labelled: deque[dict[str, Any]] = deque(maxlen=window)
        self.report = LearnReport()
        self.stopped = threading.Event()
        self.last_label_at_ms = 0

    @property
    def group(self) -> str:
        return f"{self.settings.kafka.consumer_group}-learner"

    def run(self, once: bool = False, from_beginning: bool = False, idle_s: float = 3.0) -> LearnReport:
        """Follow both topics; with `once`, read until idle, propose once, and return.

        Labels are read in the consumer group `group`, whose offsets are committed at each
        decision and at the end: a restarted learner resumes after the last label it
        committed (a new group starts at the end, or `from_beginning`). Scores are a
        lookup table rather than events: they are read again from the start of the topic,
        so a label arriving after a restart still meets the features served before it.
        """
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka.bootstrap_servers, group_id=self.group,
                                 enable_auto_commit=False)
        topics = self.settings.topics
        try:
            self._position(consumer, from_beginning)
            new_labels, last_update, last_record = 0, time.monotonic(), time.monotonic()
            while not self.stopped.is_set():
                batch = consumer.poll(timeout_ms=200)
                drifted = False
                for tp, records in batch.items():
                    if tp.topic == topics.scores:
                        new_labels += sum(self._take_score(record.value) for record in records)
                    elif tp.topic == topics.drift:
                        drifted = any([self._take_drift(record.value) for record in records]) or drifted
                    else:
                        new_labels += self._take_labels([record.value for record in records])
                if batch:
                    last_record = time.monotonic()
                if once and time.monotonic() - last_record > idle_s:
                    self._update("once")
                    return self.report
                trigger = ("drift" if drifted and self.labelled else "labels" if new_labels >= self.every_labels
                           else "time" if new_labels and time.monotonic() - last_update > self.every_s else None)
                if not once and trigger:
                    self._update(trigger)
                    consumer.commit()
                    new_labels, last_update = 0, time.monotonic()
            return self.report
        finally:
            consumer.commit()
            consumer.close()

    def stop(self) -> None:
        self.stopped.set()

    def _position(self, consumer: KafkaConsumer, from_beginning: bool) -> None:
        scores, labels, drift = self.settings.topics.scores, self.settings.topics.labels, self.settings.topics.drift
        assigned = {t: [TopicPartition(t, p) for p in sorted(consumer.partitions_for_topic(t) or {0})]
                    for t in (scores, labels, drift)}
        consumer.assign([tp for tps in assigned.values() for tp in tps])
        consumer.seek_to_beginning(*assigned[scores])
        for tp in assigned[labels] + assigned[drift]:
            committed = None if from_beginning else consumer.committed(tp)
            if committed is not None:
                consumer.seek(tp, committed)
            elif from_beginning:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek_to_end(tp)

    def _take_score(self, value: bytes) -> int:
        """Returns 1 when a waiting label met these served features."""
        try:
            served = json.loads(value)
            tx_id = served["tx_id"]
        except (ValueError, TypeError, KeyError):
            self.report.scores_unreadable += 1
            return 0
        self.report.scores_read += 1
        self.served[tx_id] = served
        label = self.unmatched.pop(tx_id, None)
        return 0 if label is None else self._join(served, label)

    def _take_drift(self, value: bytes) -> bool:
        """True for a drifted window; an unreadable record is logged and ignored."""
        try:
            window = json.loads(value)
            drifted = window["drifted"] is True
        except (ValueError, TypeError, KeyError):
            log.warning("unreadable drift record ignored")
            return False
        if drifted:
            self.report.drift_events += 1
            log.info("drift", extra={"window_start": window.get("window_start"), "top_feature": window.get("top_feature"),
                                     "top_psi": window.get("top_psi"), "score_psi": window.get("score_psi")})
        return drifted

    def _take_labels(self, values: list[bytes]) -> int:
        """Checks one poll's labels; returns how many met their served features."""
        self.report.labels_read += len(values)
        labels, broken = check(message_frame(values, LABEL_RECORD), LABEL_RECORD, now_ms())
        self.report.labels_dropped.update(broken.dropna())
        joined = 0
        for label in labels[broken.isna()].to_dict("records"):
            tx_id = label["tx_id"]
            if tx_id in self.labelled_ids:
                self.report.labels_dropped[LABEL_UNIQUE] += 1
                continue
            self.labelled_ids[tx_id] = True
            served = self.served.get(tx_id)
            if served is None:
                self.unmatched[tx_id] = label
            else:
                joined += self._join(served, label)
        return joined

    def _join(self, served: dict[str, Any], label: dict[str, Any]) -> int:
        self.labelled.append({**served, "is_fraud": int(label["is_fraud"]), "label_time": int(label["label_time"])})
        self.last_label_at_ms = now_ms()
        self.report.labelled += 1
        return 1

    def _update(self, trigger: str) -> Decision | None:
        """`trigger`: what asked for this candidate (labels, time, drift, once), kept in the decision record."""
        if not self.labelled:
            return None
        registry = Registry(self.settings.models_dir)
        current, meta = registry.load()
        frame = pd.DataFrame(list(self.labelled))
        decision = propose(current, frame, self.policy)
        record: dict[str, Any] = {"serving": meta.version, "rows": len(frame), "promoted": "", "reason": decision.reason,
                                  "trigger": trigger, "last_label_at_ms": self.last_label_at_ms}
        if decision.promote and decision.candidate is not None:
            training = {
                "kind": "warm start", "window_start_ms": int(frame["event_time"].min()),
                "window_end_ms": int(frame["event_time"].max()), "label_cutoff_ms": int(frame["label_time"].max()),
                "rows": decision.train_rows, "positives": int(frame["is_fraud"].sum()), "trees_added": self.policy.rounds,
                "trees_total": decision.candidate.num_boosted_rounds(),
            }
            metrics = {"average_precision": decision.candidate_ap, "serving_average_precision": decision.current_ap,
                       "holdout_rows": float(decision.holdout_rows), "holdout_positives": float(decision.holdout_positives)}
            # A warm start keeps its parent's decision rule and drift reference: its own rows are
            # the labelled ones, fraud first (chargebacks come sooner than clearance), not the traffic.
            new = registry.save(decision.candidate, list(model_inputs()), training, metrics, promote=True,
                                decision=meta.decision, reference=meta.reference)
            publish(self.settings, new.version)
            record.update(promoted=new.version, published_at_ms=now_ms())
        record["decided_at_ms"] = now_ms()
        registry.record_gate(record)
        log.info("update decided", extra=record)
        self.report.decisions.append(record)
        return decision
