"""`skewless evaluate`: a world whose fraud changes halfway, its features from the backfill job, two models replayed.

The features come from the same Flink job as every other backfill (and, by parity,
equal the stream's), the updates from the same gate as the live learner; only the
clock is simulated, so weeks replay in minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from jobs.backfill import compute_features, stage_history
from models.online import UpdatePolicy
from models.replay import SliceResult, replay
from models.train import fit
from skewless.config import Settings
from skewless.synthetic.generator import Drift, LabelDelays, Population, simulate
from skewless.synthetic.history import write_frames
from udfs.units import DAY_MS

WORLD_START_MS = 1_767_225_600_000
"""2026-01-01T00:00Z: a fixed calendar, so a seed gives the same world on every run."""


@dataclass(frozen=True)
class Scenario:
    cards: int = 2_000
    tx_per_card_day: float = 2.0
    train_days: int = 28
    """Days before the replay; the initial model is trained on them (labels known by the replay's start)."""
    days: int = 28
    """Days replayed; the new fraud pattern starts halfway."""
    seed: int = 7
    label_delay_ms: int = DAY_MS
    """Legitimate transactions are cleared after this; chargebacks take a median of the same, spread."""
    slice_ms: int = DAY_MS
    window_ms: int = 7 * DAY_MS
    """An update trains on the labelled transactions of this window before it."""

    @property
    def start_ms(self) -> int:
        return WORLD_START_MS + self.train_days * DAY_MS

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS

    @property
    def shift_ms(self) -> int:
        return self.start_ms + self.days // 2 * DAY_MS


@dataclass(frozen=True)
class Evaluation:
    scenario: Scenario
    results: list[SliceResult]
    transactions: int
    fraud_before_shift: int
    fraud_after_shift: int
    initial_training_rows: int
    seconds: float


def run_evaluation(settings: Settings, scenario: Scenario, policy: UpdatePolicy) -> Evaluation:
    started = time.monotonic()
    population = Population.build(scenario.seed, scenario.cards, max(50, scenario.cards // 5))
    transactions, labels = simulate(
        population, scenario.seed, WORLD_START_MS, scenario.end_ms,
        int(scenario.cards * scenario.tx_per_card_day * (scenario.train_days + scenario.days)),
        drift=Drift(scenario.shift_ms), label_delays=LabelDelays(scenario.label_delay_ms, scenario.label_delay_ms),
    )
    files = write_frames(settings.data_dir / "evaluate" / "world", transactions, labels)
    features = compute_features(settings, stage_history(settings, files.transactions, files.labels, name="evaluate")).features
    frame = features.merge(labels[["tx_id", "is_fraud", "label_time"]], on="tx_id", validate="one_to_one")
    before = frame[(frame["event_time"] < scenario.start_ms) & (frame["label_time"] < scenario.start_ms)]
    results = replay(fit(before), frame, scenario.start_ms, scenario.end_ms, scenario.slice_ms, scenario.window_ms, policy)
    replayed = frame[frame["event_time"] >= scenario.start_ms]
    after = replayed["event_time"] >= scenario.shift_ms
    return Evaluation(
        scenario, results, len(frame), int(replayed.loc[~after, "is_fraud"].sum()),
        int(replayed.loc[after, "is_fraud"].sum()), len(before), time.monotonic() - started,
    )
