"""Which retained checkpoint a stream job resumes from.

The stream job keeps its checkpoints when it is cancelled or fails
(`RETAIN_ON_CANCELLATION`), under `Settings.checkpoints_dir` as Flink lays them out:
`<job id>/chk-<n>/_metadata`. A checkpoint is complete once its `_metadata` exists.
"""

from __future__ import annotations

from pathlib import Path

from skewless.config import Settings
from skewless.errors import SkewlessError


def latest_checkpoint(settings: Settings) -> Path:
    """The newest complete checkpoint of any earlier run of this stream job (its consumer group)."""
    completed = [m.parent for m in settings.checkpoints_dir.glob("*/chk-*/_metadata")]
    if not completed:
        raise SkewlessError(f"no retained checkpoint in {settings.checkpoints_dir}: start without --resume "
                            f"(the job then reads on from its consumer group's offsets, with empty windows)")
    return max(completed, key=lambda folder: folder.joinpath("_metadata").stat().st_mtime)
