"""Files of the generated world: history, labels, and the population live data continues."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.synthetic.generator import Population, simulate
from udfs.units import now_ms, s_to_ms

TRANSACTIONS_FILE = "transactions.parquet"
LABELS_FILE = "labels.parquet"
POPULATION_FILE = "population.json"


@dataclass(frozen=True)
class PopulationSpec:
    seed: int
    cards: int
    merchants: int

    def build(self) -> Population:
        return Population.build(self.seed, self.cards, self.merchants)


@dataclass(frozen=True)
class HistoryFiles:
    transactions: Path
    labels: Path
    rows: int
    fraud_rate: float


def write_frames(out: Path, transactions: pd.DataFrame, labels: pd.DataFrame) -> HistoryFiles:
    """Parquet files a user would hand to `skewless backfill`: times as UTC timestamps."""
    out.mkdir(parents=True, exist_ok=True)
    stamped = transactions.assign(event_time=pd.to_datetime(transactions["event_time"], unit="ms", utc=True))
    stamped.to_parquet(out / TRANSACTIONS_FILE, index=False)
    labels.assign(label_time=pd.to_datetime(labels["label_time"], unit="ms", utc=True)).to_parquet(out / LABELS_FILE, index=False)
    return HistoryFiles(out / TRANSACTIONS_FILE, out / LABELS_FILE, len(transactions), float(labels["is_fraud"].mean()))


def write_history(settings: Settings, spec: PopulationSpec, start_ms: int, end_ms: int, n_legit: int) -> HistoryFiles:
    transactions, labels = simulate(spec.build(), spec.seed, start_ms, end_ms, n_legit)
    files = write_frames(settings.history_dir, transactions, labels)
    (settings.history_dir / POPULATION_FILE).write_text(json.dumps(asdict(spec)))
    return files


def load_population(settings: Settings) -> PopulationSpec:
    path = settings.history_dir / POPULATION_FILE
    if not path.exists():
        raise SkewlessError(f"no generated population at {path}: run `skewless generate` first")
    return PopulationSpec(**json.loads(path.read_text()))


def live_batch(
    spec: PopulationSpec, count: int, rate: float, seed: int, lead_s: float = 1.0, start_ms: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About `count` transactions of the same cards at `rate` per second, from `start_ms` (default: now + `lead_s`)."""
    if rate <= 0 or count <= 0:
        raise SkewlessError("--rate and --count must be positive")
    if start_ms is None:
        start_ms = now_ms() + s_to_ms(lead_s)
    end_ms = start_ms + max(1, s_to_ms(count / rate))
    return simulate(spec.build(), seed, start_ms, end_ms, count, id_prefix=f"live{start_ms}-",
                    burst_gap_ms=(end_ms - start_ms) / 20, distinct_cards=True)
