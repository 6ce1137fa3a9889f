"""The backfill job against feature values worked out by hand (window edges included)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench import pandas_features
from jobs.backfill import run_backfill
from skewless.synthetic.generator import Population, simulate
from udfs.features import CARD, FEATURES

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
S, DAY = 1_000, 86_400_000
NYC, LA, LONDON, PARIS = (40.7128, -74.0060), (34.0522, -118.2437), (51.5074, -0.1278), (48.8566, 2.3522)
NONE = (None, None)

HISTORY = [  # tx_id, card, t, amount, (lat, lon)
    ("a1", "A", T0, 10.00, NYC),
    ("a2", "A", T0 + 600 * S, 20.00, LA),
    ("a3", "A", T0 + 3600 * S, 30.00, NONE),  # exactly 1 h after a1: a1 is still in its hour
    ("a4", "A", T0 + 3601 * S, 0.50, LA),  # 1 h 1 s after a1: a1 is out of its hour
    ("a5", "A", T0 + 31 * DAY, 100.00, LA),  # 30-day window holds only itself
    ("b1", "B", T0 + 600 * S, 5.55, LONDON),
    ("b2", "B", T0 + 1200 * S, 4.45, PARIS),
    ("bad", "B", T0 + 1300 * S, "n/a", PARIS),  # set aside, not dropped
]

# km from previous, seconds since previous, sum 1h, count 1h, mean 30d
EXPECTED = {
    "a1": (None, None, 10.00, 1, 10.00),
    "a2": (3935.75, 600.0, 30.00, 2, 15.00),
    "a3": (None, 3000.0, 60.00, 3, 20.00),
    "a4": (None, 1.0, 50.50, 3, 15.125),
    "a5": (0.0, 31 * 86_400 - 3601.0, 100.00, 1, 100.00),
    "b1": (None, None, 5.55, 1, 5.55),
    "b2": (343.56, 600.0, 10.00, 2, 5.00),
}
# More features for some rows. Every transaction is at merchant "m" (both cards), in time
# order a1(0) a2,b1(600 s) b2(1200 s) a3(3600 s) a4(3601 s) a5(31 d). T0 is a Thursday
# 00:00 UTC; a5 falls on Sunday 2026-02-01 00:00 UTC.
EXPECTED_MORE = {
    "a1": {"amount_to_mean_card_30d": 1.0, "amount_count_merchant_1h": 1, "hour_of_day": 0, "is_night": 1, "is_weekend": 0,
           "km_from_mean_card_30d": None},  # no other transaction of the card yet
    "a2": {"kmh_since_prev_card": 3935.75 * 6, "amount_count_card_10min": 2, "amount_sum_card_10min": 30.0,  # a1 exactly 10 min earlier
           "amount_to_mean_card_30d": 20 / 15, "amount_count_merchant_1h": 3,  # b1 in the same ms counts
           "km_from_mean_card_30d": 3935.75},  # the mean of a1 alone: NYC
    "a3": {"kmh_since_prev_card": None, "amount_count_card_10min": 1, "amount_count_merchant_1h": 5,  # a1 exactly 1 h earlier
           "km_from_mean_card_30d": None},  # card not present
    "a4": {"kmh_since_prev_card": None, "amount_count_card_10min": 2, "amount_sum_card_10min": 30.5,
           "amount_count_card_1d": 4, "amount_sum_card_1d": 60.5, "amount_max_card_7d": 30.0, "amount_count_card_30d": 4,
           "amount_to_mean_card_30d": 0.5 / 15.125, "amount_count_merchant_1h": 5, "amount_count_merchant_1d": 6,
           "amount_mean_merchant_7d": 70.5 / 6,
           "km_from_mean_card_30d": 2026.04},  # from the mean of a1 and a2 (a3 has no place): (37.3825, -96.12485) to LA
    "a5": {"kmh_since_prev_card": 0.0, "amount_count_card_1d": 1, "amount_max_card_7d": 100.0, "amount_count_card_30d": 1,
           "amount_count_merchant_1d": 1, "hour_of_day": 0, "is_night": 1, "is_weekend": 1,
           "km_from_mean_card_30d": None},  # a1-a4 are more than 30 days older

    "b2": {"kmh_since_prev_card": 343.56 * 6, "amount_count_card_10min": 2, "amount_sum_card_10min": 10.0,
           "amount_to_mean_card_30d": 4.45 / 5.0, "amount_count_merchant_1h": 4,
           "km_from_mean_card_30d": 343.56},  # the mean of b1 alone: London
}
COLUMNS = ["km_since_prev_card", "seconds_since_prev_card", "amount_sum_card_1h", "amount_count_card_1h", "amount_mean_card_30d"]


@pytest.fixture(scope="module")
def backfilled(settings, feast_applied, tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "hand_made.csv"
    pd.DataFrame([
        {"tx_id": t, "cc_num": c, "merchant_id": "m", "amount": a, "lat": loc[0], "lon": loc[1],
         "event_time": pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()}
        for t, c, ms, a, loc in HISTORY
    ]).to_csv(path, index=False)
    result = run_backfill(settings, path, materialize=True)
    return result, pd.read_parquet(result.offline_path).set_index("tx_id")


def _same(actual, expected) -> bool:
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    return actual == pytest.approx(expected, abs=0.05 if expected > 1000 else 0.005)


@pytest.mark.parametrize("tx_id", sorted(EXPECTED))
def test_feature_values_match_the_hand_computed_oracle(backfilled, tx_id):
    _, features = backfilled
    row = features.loc[tx_id, COLUMNS].tolist()
    assert all(_same(a, e) for a, e in zip(row, EXPECTED[tx_id], strict=True)), f"{tx_id}: got {row}, expected {EXPECTED[tx_id]}"


@pytest.mark.parametrize(("tx_id", "feature"), sorted((t, f) for t, fs in EXPECTED_MORE.items() for f in fs))
def test_more_features_match_the_oracle(backfilled, tx_id, feature):
    _, features = backfilled
    expected = EXPECTED_MORE[tx_id][feature]
    assert _same(features.loc[tx_id, feature], expected), f"{tx_id}.{feature}: {features.loc[tx_id, feature]} != {expected}"


def test_decimal_sums_are_exact(backfilled):
    _, features = backfilled
    assert features.loc["b2", "amount_sum_card_1h"] == 10.0  # 5.55 + 4.45, no float residue
    assert features.loc["a4", "amount_mean_card_30d"] == 15.125


def test_every_row_accounted_for(backfilled):
    result, features = backfilled
    assert (result.rows_in, result.rows_out, result.rows_rejected) == (8, 7, 1)
    rejected = pd.read_csv(result.rejected_path)
    assert rejected["tx_id"].tolist() == ["bad"] and rejected["reject_rule"].tolist() == ["amount.required"]  # "n/a" is a CSV missing value


def test_feast_point_in_time_join_reads_the_backfill(backfilled, settings):
    from skewless.featurestore.store import open_store

    entity_rows = pd.DataFrame({
        "cc_num": ["A", "A", "B"],
        "event_timestamp": pd.to_datetime([T0 + 3600 * S + 500, T0 + 599 * S, T0 + 1300 * S], unit="ms", utc=True),
    })
    joined = open_store(settings).get_historical_features(
        entity_df=entity_rows, features=["card_features:amount_sum_card_1h", "card_features:amount_count_card_1h"],
    ).to_df().sort_values(["cc_num", "event_timestamp"]).reset_index(drop=True)
    # A just after a3 -> a3's values; A before a2 -> a1's; B after b2 -> b2's
    assert joined["amount_sum_card_1h"].tolist() == [10.0, 60.0, 10.0]
    assert joined["amount_count_card_1h"].tolist() == [1, 3, 2]


def test_materialize_puts_each_cards_newest_values_online(backfilled, settings):
    from skewless.featurestore.store import read_online

    online = read_online(settings, CARD, ["A", "B"]).set_index("cc_num")
    assert online.loc["A", "amount_sum_card_1h"] == 100.0  # a5, A's last transaction
    assert online.loc["B", "amount_sum_card_1h"] == 10.0  # b2


@pytest.mark.parametrize("feature", [f.name for f in FEATURES])
def test_flink_backfill_agrees_with_an_independent_pandas_implementation(generated_backfill, feature):
    """Every declared feature, on generated data: Flink SQL windows vs pandas rolling windows."""
    flink, reference = generated_backfill
    a, b = flink[feature].to_numpy(float), reference[feature].to_numpy(float)
    agree = np.isclose(a, b, rtol=1e-9, atol=1e-6) | (np.isnan(a) & np.isnan(b))
    assert agree.all(), f"{feature}: {(~agree).sum()} rows differ, e.g. {flink.index[~agree][:3].tolist()}"


@pytest.fixture(scope="module")
def generated_backfill(settings, feast_applied, tmp_path_factory):
    pop = Population.build(5, 150, 40)
    start = 1_767_225_600_000
    tx, labels = simulate(pop, 5, start, start + 40 * DAY, 6_000)
    folder = tmp_path_factory.mktemp("generated")
    tx.to_parquet(folder / "tx.parquet")
    labels.to_parquet(folder / "labels.parquet")
    flink = pd.read_parquet(run_backfill(settings, folder / "tx.parquet", folder / "labels.parquet").offline_path).set_index("tx_id")
    reference = pandas_features.compute(tx, labels).set_index("tx_id").loc[flink.index]
    return flink, reference


def test_ids_with_commas_quotes_and_line_breaks_reach_the_features_unchanged(settings, feast_applied, tmp_path):
    """Staging writes a CSV the engine reads: an id holding CSV's own characters must not split a row or a key."""
    pop = Population.build(2, 20, 5)
    start = 1_767_225_600_000
    tx, labels = simulate(pop, 2, start, start + 3 * DAY, 300)

    def awkward(value: str) -> str:
        return f'x,"{value}\n"\r{value}y'

    tx = tx.assign(**{c: tx[c].map(awkward) for c in ("tx_id", "cc_num", "merchant_id")})
    labels = labels.assign(**{c: labels[c].map(awkward) for c in ("tx_id", "merchant_id")})
    tx.to_parquet(tmp_path / "tx.parquet")
    labels.to_parquet(tmp_path / "labels.parquet")
    flink = pd.read_parquet(run_backfill(settings, tmp_path / "tx.parquet", tmp_path / "labels.parquet").offline_path)
    assert sorted(flink["tx_id"]) == sorted(tx["tx_id"]) and set(flink["cc_num"]) == set(tx["cc_num"])
    reference = pandas_features.compute(tx, labels).set_index("tx_id").loc[flink["tx_id"]]
    for feature in (f.name for f in FEATURES):
        a, b = flink[feature].to_numpy(float), reference[feature].to_numpy(float)
        assert (np.isclose(a, b, rtol=1e-9, atol=1e-6) | (np.isnan(a) & np.isnan(b))).all(), feature
