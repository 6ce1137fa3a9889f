"""Checkpoints as rows: what the scoring step ties to them, and the state it keeps beside Flink's.

A Python scalar function has no checkpoint callback. `CheckpointMarks.java`, chained right
before the scoring step, sends one row per checkpoint barrier (and one at open and at end)
carrying only the `checkpoint_mark` field; everything the scoring step does before that
row returns is done before Flink snapshots. Three things ride on it (docs/reliability.md):
- the online write-behind is drained and the served-features log sealed at each barrier;
- a model update is switched to only at a barrier, and the version serving after each
  barrier is recorded here, so a restored job scores its replay with the same version;
- on restore, served-log parts written after the restored checkpoint are removed: they
  are replayed, so the log holds each transaction once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

from skewless.config import Settings

log = logging.getLogger(__name__)
MARK_FIELD = "checkpoint_mark"
"""The field `CheckpointMarks.java` appends: null on every transaction row."""
FRESH = -1
"""The checkpoint an `open` mark names when the job did not restore one."""


@dataclass(frozen=True)
class Mark:
    event: str
    """open (before any row), barrier (the last row before checkpoint `checkpoint`), end (of a bounded input)."""
    lineage: str
    """The job id of the first run; restores keep it."""
    generation: int
    """How many restores led to this run: 0 for the first."""
    subtask: int
    checkpoint: int

    @classmethod
    def parse(cls, text: str) -> Mark:
        event, lineage, generation, subtask, checkpoint = text.split(" ")
        return cls(event, lineage, int(generation), int(subtask), int(checkpoint))

    @property
    def restored(self) -> bool:
        return self.event == "open" and self.checkpoint != FRESH


def with_marks(rows: DataStream) -> DataStream:
    """`rows` (typed with field names) with the mark field appended and the marks among them."""
    return DataStream(get_gateway().jvm.skewless.engine.CheckpointMarks.apply(rows._j_data_stream))


class ServingVersions:
    """The model version that serves after each checkpoint, per subtask: `<checkpoints>/serving/<lineage>-s<n>.jsonl`.

    Written before the checkpoint completes, read when a job restores one.
    """

    KEPT = 64
    """Entries kept per subtask: Flink retains only the newest checkpoints, so older entries are never read."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.checkpoints_dir / "serving"

    def record(self, mark: Mark, version: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{mark.lineage}-s{mark.subtask}.jsonl"
        lines = path.read_text().splitlines()[-(self.KEPT - 1):] if path.exists() else []
        lines.append(json.dumps({"generation": mark.generation, "checkpoint": mark.checkpoint, "version": version}))
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)

    def at(self, mark: Mark) -> str | None:
        """The version recorded at the checkpoint `mark` restores, by this subtask (any subtask after a rescale)."""
        found: dict[int, tuple[int, str]] = {}
        for path in sorted(self.folder.glob(f"{mark.lineage}-s*.jsonl")):
            subtask = int(path.stem.rsplit("-s", 1)[1])
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                if entry["checkpoint"] == mark.checkpoint and entry["generation"] < mark.generation:
                    found[subtask] = max(found.get(subtask, (-1, "")), (entry["generation"], entry["version"]))
        if not found:
            log.warning("no serving version recorded at the restored checkpoint: serving the registry's current one",
                        extra={"checkpoint": mark.checkpoint, "lineage": mark.lineage})
            return None
        return found.get(mark.subtask, next(iter(found.values())))[1]
