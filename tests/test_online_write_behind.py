"""The write-behind online writer of the scoring operator, with a stand-in for Feast (unit test)."""

import threading

import pandas as pd
import pytest

import skewless.featurestore.online as feast_store
from skewless.errors import SkewlessError


class _Store:
    def __init__(self, settings) -> None:
        self.writes: list[list[str]] = []
        self.release = threading.Event()
        self.fail = False

    def write(self, rows: pd.DataFrame) -> None:
        self.release.wait(5)
        if self.fail:
            raise OSError("disk full")
        self.writes.append(list(rows["tx_id"]))


@pytest.fixture
def writer(monkeypatch):
    monkeypatch.setattr(feast_store, "OnlineWriter", _Store)
    written: list[tuple[list[str], int]] = []
    behind = feast_store.OnlineWriteBehind(None, lambda rows, at: written.append((list(rows["tx_id"]), at)))
    return behind, written


def _rows(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({"tx_id": list(ids), "event_time": [1] * len(ids)})


def test_pending_bundles_are_written_together_in_order_and_reported(writer):
    behind, written = writer
    behind.submit(_rows("a"))  # the thread takes it and waits in write()
    behind.submit(_rows("b", "c"))
    behind.submit(_rows("d"))
    behind.writer.release.set()
    behind.close()
    assert sum(behind.writer.writes, []) == ["a", "b", "c", "d"]
    assert len(behind.writer.writes) <= 2, "bundles queued behind a slow write go out in one call"
    assert [ids for ids, _ in written] == behind.writer.writes and all(at > 0 for _, at in written)


def test_a_failed_write_fails_the_next_submit_and_close(writer):
    behind, _ = writer
    behind.writer.fail = True
    behind.writer.release.set()
    behind.submit(_rows("a"))
    behind.thread.join(5)
    with pytest.raises(SkewlessError, match="disk full"):
        behind.submit(_rows("b"))
    with pytest.raises(SkewlessError, match="online store failed"):
        behind.close()
