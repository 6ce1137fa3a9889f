"""Hand-checked: equal timestamps, label arrival at the window edges, late rows set aside.

The history is read as arrived (`--as-arrived`), so the job itself, not the staging,
must put same-millisecond transactions in tx_id order and catch the late row.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from jobs.backfill import run_backfill

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
S, DAY = 1_000, 86_400_000
NYC, LONDON, PARIS, NONE = (40.7128, -74.0060), (51.5074, -0.1278), (48.8566, 2.3522), (None, None)

ARRIVALS = [  # tx_id, card, merchant, t, (lat, lon); in the order they arrive
    ("c3", "C", "m1", T0 + 100 * S, NYC),  # three transactions of C in one millisecond,
    ("c1", "C", "m1", T0 + 100 * S, PARIS),  # arriving c3, c1, c2: ordered c1, c2, c3
    ("c2", "C", "m1", T0 + 100 * S, LONDON),
    ("x1", "X", "m2", T0 + DAY, NONE),
    ("late1", "D", "m1", T0, NONE),  # a day behind the watermark: set aside, not dropped
    ("x2", "X", "m2", T0 + 8 * DAY, NONE),  # exactly 7 days after x1
    ("x3", "X", "m2", T0 + 8 * DAY + 1, NONE),  # 7 days and 1 ms after x1
]
LABELS = [  # tx_id labelled, merchant, is_fraud, label_time
    ("c1", "m2", 1, T0 + DAY - 1),  # 1 ms before x1: known to x1
    ("c2", "m2", 0, T0 + DAY),  # with x1: not yet known to x1; x2's window starts here
]


@pytest.fixture(scope="module")
def backfilled(settings, feast_applied, tmp_path_factory):
    folder = tmp_path_factory.mktemp("arrivals")
    history, labels = folder / "arrivals.csv", folder / "labels.csv"
    pd.DataFrame([
        {"tx_id": t, "cc_num": c, "merchant_id": m, "amount": 1.0, "lat": loc[0], "lon": loc[1], "event_time": ms}
        for t, c, m, ms, loc in ARRIVALS
    ]).to_csv(history, index=False)
    pd.DataFrame(LABELS, columns=["tx_id", "merchant_id", "is_fraud", "label_time"]).to_csv(labels, index=False)
    result = run_backfill(settings, history, labels, as_arrived=True)
    return result, pd.read_parquet(result.offline_path).set_index("tx_id")


def _null(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_same_millisecond_transactions_follow_tx_id_order(backfilled):
    _, f = backfilled
    assert _null(f.loc["c1", "km_since_prev_card"]) and _null(f.loc["c1", "seconds_since_prev_card"])
    assert f.loc["c2", "km_since_prev_card"] == pytest.approx(343.56, abs=0.01)  # Paris -> London
    assert f.loc["c3", "km_since_prev_card"] == pytest.approx(5570.23, abs=0.01)  # London -> New York
    assert f.loc["c2", "seconds_since_prev_card"] == 0.0 and f.loc["c3", "seconds_since_prev_card"] == 0.0
    assert f.loc["c2", "kmh_since_prev_card"] == pytest.approx(343.56 * 3600, abs=40)  # gap floored at 1 s
    # a window is a span of time: all three are in each other's
    assert f.loc[["c1", "c2", "c3"], "amount_count_card_1h"].tolist() == [3, 3, 3]


def test_labels_count_only_once_arrived_and_within_the_window(backfilled):
    _, f = backfilled
    assert f.loc["x1", "fraud_rate_merchant_7d"] == 1.0  # the fraud label 1 ms earlier; not the one arriving with it
    assert f.loc["x2", "fraud_rate_merchant_7d"] == 0.0  # the fraud label is 7 d + 1 ms old: out; the other exactly 7 d: in
    assert _null(f.loc["x3", "fraud_rate_merchant_7d"])  # both out: no labels, no rate
    assert _null(f.loc["c1", "fraud_rate_merchant_7d"])  # merchant m1 has no labels


def test_late_rows_go_to_the_late_file_with_a_reason(backfilled, settings):
    result, f = backfilled
    assert "late1" not in f.index
    assert (result.rows_in, result.rows_out, result.rows_late) == (7, 6, 1)
    late = pd.read_csv(result.late_dir / "arrivals.transactions.late.csv")
    assert late["tx_id"].tolist() == ["late1"] and late["cc_num"].tolist() == ["D"]
    assert f"allowed lateness ({settings.features.allowed_lateness_ms} ms)" in late.loc[0, "reason"]
    assert late.loc[0, "watermark"].startswith("2026-01-01 23:59:59")
