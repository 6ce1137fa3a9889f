"""The offline parquet the backfill writes from arrow reads back as the frame every other path stamps."""

import pandas as pd
import pyarrow as pa

from skewless.config import load_settings
from skewless.featurestore.store import with_event_timestamp, write_offline


def test_the_offline_file_reads_back_as_the_stamped_frame(tmp_path):
    rows = pa.table({
        "tx_id": ["a", "b", "c"],
        "cc_num": ["4000", None, "4002"],
        "event_time": pa.array([0, 1_767_225_600_123, 1_767_225_600_124], pa.int64()),
        "card_amount_sum_1h": [1.5, None, 2.25],
    })
    path = write_offline(load_settings(overrides={"data_dir": tmp_path}), rows)
    written = pd.read_parquet(path)
    pd.testing.assert_frame_equal(written, with_event_timestamp(rows.to_pandas()))
    assert written["event_timestamp"].iloc[1] == pd.Timestamp("2026-01-01 00:00:00.123", tz="UTC")
