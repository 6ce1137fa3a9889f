"""Writing the stream's features to Feast's online store: newest per key, off the scoring path."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import pandas as pd

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.featurestore.names import TIMESTAMP_FIELD, feature_view_name
from skewless.featurestore.sqlite_rows import SqliteRows
from skewless.featurestore.store import open_store, with_event_timestamp
from udfs.features import ENTITIES, features_of
from udfs.units import now_ms


class OnlineWriter:
    """Writes the newest feature values of each entity to the online store.

    Newest by (event_time, tx_id), decided here within a write, and across writes (and
    writers: each subtask of a job has one) by the store: `SqliteRows` leaves out a row
    older than the one it holds, the Redis store one whose timestamp is not newer
    (docs/stack.md). A sqlite store's rows are written as Feast writes them, in one
    statement per view (`SqliteRows`).
    """

    def __init__(self, settings: Settings) -> None:
        self.store = open_store(settings)
        self.views = {e: [f.name for f in features_of(e)] for e in ENTITIES if features_of(e)}
        self.sqlite = SqliteRows.of(self.store)

    def write(self, features: pd.DataFrame) -> None:
        stamped = with_event_timestamp(features).sort_values(["event_time", "tx_id"], kind="stable")
        direct = []
        for entity, names in self.views.items():
            view = feature_view_name(entity)
            latest = stamped.drop_duplicates(entity.key, keep="last")
            if self.sqlite is not None and self.sqlite.covers(view):
                direct.append((view, entity.key, latest[[entity.key, TIMESTAMP_FIELD, "event_time", "tx_id", *names]]))
            else:
                self.store.write_to_online_store(view, latest[[entity.key, TIMESTAMP_FIELD, *names]])
        if direct:
            self.sqlite.write(direct)


class OnlineWriteBehind:
    """Online writes off the scoring path, in a thread: a score never waits for the store.

    A Feast write costs milliseconds per call (docs/stack.md), more than the whole scoring
    of a small bundle. Bundles queue here; the thread writes everything pending in one
    call (newest per key, as `OnlineWriter`), then reports the rows and the time they
    became visible to `on_written`. `drain()` (at each checkpoint barrier) and closing
    wait until everything queued is written. A failed write fails the
    next `submit` (and so the job, which Flink restarts from its last checkpoint and
    replays): the online store is never silently left behind.
    """

    def __init__(self, settings: Settings, on_written: Callable[[pd.DataFrame, int], None]) -> None:
        self.writer = OnlineWriter(settings)
        self.on_written = on_written
        self.pending: queue.Queue[pd.DataFrame | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="skewless-online-writer", daemon=True)
        self.thread.start()

    def submit(self, rows: pd.DataFrame) -> None:
        self._raise_failure()
        self.pending.put(rows)

    def _run(self) -> None:
        try:
            self._write_until_closed()
        except BaseException as exc:  # handed to the scoring thread by submit()
            self.failure = exc

    def _write_until_closed(self) -> None:
        while True:
            items = [self.pending.get()]
            while not self.pending.empty():
                items.append(self.pending.get_nowait())
            rows: list[pd.DataFrame] = []
            for item in items:
                if isinstance(item, pd.DataFrame):
                    rows.append(item)
                    continue
                self._write(rows)
                rows = []
                if item is None:
                    return
                item.set()  # a drain() waits on it
            self._write(rows)

    def _write(self, rows: list[pd.DataFrame]) -> None:
        if rows:
            written = pd.concat(rows, ignore_index=True)
            self.writer.write(written)
            self.on_written(written, now_ms())

    def drain(self) -> None:
        """Block until every row submitted so far is written and handed to `on_written`: at a checkpoint barrier."""
        done = threading.Event()
        self.pending.put(done)
        while not done.wait(0.5):
            if not self.thread.is_alive():
                self._raise_failure()

    def close(self) -> None:
        self.pending.put(None)
        self.thread.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise SkewlessError(f"writing features to the online store failed: {self.failure}") from self.failure
