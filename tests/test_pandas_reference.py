"""The pandas reference (bench baseline and test oracle) against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd

from bench import pandas_features
from udfs.features import CARD, MERCHANT, KmFromMean, LabelRate, PrevTx, WindowAgg

DAY = 86_400_000


def _tx(rows):
    return pd.DataFrame(rows, columns=["tx_id", "cc_num", "merchant_id", "amount", "lat", "lon", "event_time"])


NO_LABELS = pd.DataFrame({"tx_id": [], "merchant_id": [], "is_fraud": [], "label_time": []})


def test_same_millisecond_transactions_are_window_peers_and_ordered_by_tx_id():
    tx = _tx([("b", "1", "m", 2.0, 48.8566, 2.3522, 1000), ("a", "1", "m", 1.0, 51.5074, -0.1278, 1000),
              ("c", "1", "m", 4.0, None, None, 2000)])
    out = pandas_features.compute(tx, NO_LABELS, (
        WindowAgg(MERCHANT, "amount", "count", 3600), WindowAgg(CARD, "amount", "sum", 3600), PrevTx(CARD, "seconds"),
        PrevTx(CARD, "km"),
    )).set_index("tx_id")
    assert out["amount_count_merchant_1h"].to_dict() == {"b": 2, "a": 2, "c": 3}
    assert out["amount_sum_card_1h"].to_dict() == {"b": 3.0, "a": 3.0, "c": 7.0}
    assert math.isnan(out.loc["a", "seconds_since_prev_card"]) and out.loc["b", "seconds_since_prev_card"] == 0.0
    assert round(out.loc["b", "km_since_prev_card"], 2) == 343.56  # London (a) -> Paris (b)


def test_label_rate_counts_labels_known_before_the_transaction_within_the_window():
    t = 10 * DAY
    tx = _tx([("x1", "1", "m", 1.0, None, None, t), ("x2", "1", "m", 1.0, None, None, t + 7 * DAY),
              ("x3", "1", "m", 1.0, None, None, t + 7 * DAY + 1)])
    labels = pd.DataFrame({"tx_id": ["p", "q"], "merchant_id": ["m", "m"], "is_fraud": [1, 0], "label_time": [t - 1, t]})
    rate = pandas_features.compute(tx, labels, (LabelRate(MERCHANT, 7 * 86_400),)).set_index("tx_id")["fraud_rate_merchant_7d"]
    assert rate["x1"] == 1.0  # the label 1 ms earlier counts; the one at the same ms is not yet known
    assert rate["x2"] == 0.0  # exactly 7 days: the label at t is in, the one at t - 1 ms is out
    assert math.isnan(rate["x3"])  # no label in the window: no rate


def test_km_from_mean_is_over_the_others_in_the_window_same_millisecond_peers_included():
    london, paris = (51.5074, -0.1278), (48.8566, 2.3522)
    tx = _tx([("a", "1", "m", 1.0, *london, 1000), ("b", "1", "m", 1.0, *paris, 1000),
              ("c", "1", "m", 1.0, None, None, 2000), ("d", "1", "m", 1.0, *paris, 2000 + DAY)])
    km = pandas_features.compute(tx, NO_LABELS, (KmFromMean(CARD, 86_400),)).set_index("tx_id")["km_from_mean_card_1d"]
    assert round(km["a"], 2) == round(km["b"], 2) == 343.56  # each one's mean is the other, in the same millisecond
    assert math.isnan(km["c"])  # card not present
    assert math.isnan(km["d"])  # a and b are a day and a millisecond older, c has no place: nobody else
