"""The served-features log: the features each transaction was scored with, as parquet parts of `served/`.

Exactly once per transaction across crashes, without a two-phase commit: every part names
the run that wrote it (lineage, generation, subtask) and the checkpoint its rows come
after (`jobs.checkpoint_marks`). Rows are written at most every `flush_s` seconds and at
each checkpoint barrier, before Flink snapshots, and at the end of a bounded run. A job
that restores checkpoint n replays what came after n, so it first removes the parts
earlier runs wrote after n; the parts before n are whole, and nothing in them is
replayed. Rows pending when a job is cancelled or killed are not written: they come
after its last checkpoint, and the next run reads them again. A job started afresh (no
`--resume`) reads on from the offsets of the last checkpoint too, so it can log again
what an earlier run flushed after it: readers keep one row per `tx_id`.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd

from jobs.checkpoint_marks import Mark
from skewless.config import Settings
from skewless.featurestore.store import served_features_dir, with_event_timestamp

UNMARKED = Mark("open", "unmarked", 0, 0, 0)
"""The run of a scoring step that has seen no mark yet."""


def part_name(run: Mark, after: int, sequence: int) -> str:
    """A part of rows this subtask scored after checkpoint `after` (0: before the first)."""
    return f"part-{run.lineage}-g{run.generation}-s{run.subtask}-a{after}-{sequence}.parquet"


def stale_parts(folder: Path, restore: Mark) -> list[Path]:
    """Parts an earlier run of this lineage wrote after the checkpoint `restore` names: their rows are replayed."""
    stale = []
    for path in folder.glob(f"part-{restore.lineage}-g*.parquet"):
        fields = path.stem.split("-")
        generation, after = int(fields[2][1:]), int(fields[4][1:])
        if generation < restore.generation and after >= restore.checkpoint:
            stale.append(path)
    return stale


class ServedLog:
    """Appended from the write-behind thread; sealed from the scoring thread once that thread is drained."""

    def __init__(self, settings: Settings, flush_s: float = 5.0) -> None:
        self.folder = served_features_dir(settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.flush_s = flush_s
        self.run, self.after, self.sequence = UNMARKED, 0, 0
        self.pending: list[pd.DataFrame] = []
        self.last_flush = time.monotonic()
        self.lock = threading.Lock()

    def begin(self, mark: Mark) -> None:
        """An `open` mark: this run's name, and on a restore the replayed parts removed."""
        with self.lock:
            self.run, self.after = mark, max(mark.checkpoint, 0)
            if mark.restored:
                for path in stale_parts(self.folder, mark):
                    path.unlink(missing_ok=True)

    def append(self, rows: pd.DataFrame) -> None:
        with self.lock:
            self.pending.append(rows)
            if time.monotonic() - self.last_flush >= self.flush_s:
                self._flush()

    def seal(self, checkpoint: int | None = None) -> None:
        """Every row so far written; at a barrier, later rows come after its `checkpoint`."""
        with self.lock:
            self._flush()
            if checkpoint is not None:
                self.after = checkpoint

    def _flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        rows = with_event_timestamp(pd.concat(self.pending, ignore_index=True))
        self.pending = []
        self.sequence += 1
        name = part_name(self.run, self.after, self.sequence)
        tmp = self.folder / f".{name}.tmp"  # a dot file: readers skip it until it is whole
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, self.folder / name)
