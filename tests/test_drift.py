"""PSI and its reference bins, against hand-worked values."""

import math

import numpy as np
import pandas as pd
import pytest

from models.drift import SCORE, bin_codes, bins_of, drift_columns, expected, psi, reference_of, window_psi
from udfs.features import FEATURES, Calendar, LabelRate

HOUR_MS = 3_600_000


def test_a_value_goes_after_every_edge_it_reaches_and_missing_has_its_own_bin():
    codes = bin_codes(np.array([0.5, 1.0, 1.5, 2.0, 3.0, np.nan]), [1.0, 2.0])
    assert codes.tolist() == [0, 1, 1, 2, 2, 3]


def test_psi_by_hand():
    assert psi([50, 50], [0.5, 0.5]) == 0.0
    assert psi([80, 20], [0.5, 0.5]) == pytest.approx(0.3 * math.log(1.6) + 0.3 * math.log(2.5))
    # an empty bin counts as a share of 1e-4, not zero: large, finite
    assert psi([100, 0], [0.5, 0.5]) == pytest.approx(0.5 * math.log(2) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))


def test_a_count_feature_with_one_value_has_one_edge_and_shares_per_hour():
    bins = bins_of(np.array([1.0, 1.0, 1.0, 1.0, np.nan]), np.array([3, 3, 3, 4, 4]))
    assert bins["edges"] == [1.0]
    shares = np.array(bins["proportions_by_hour"])
    assert shares.shape == (24, 3)
    assert shares[3].tolist() == [0.0, 1.0, 0.0] and shares[4].tolist() == [0.0, 0.5, 0.5]
    assert shares[0].tolist() == [0.0, 0.0, 0.0]
    # a window from 03:00 to 05:00 expects the mean of its two hours
    assert expected(bins, 3 * HOUR_MS, 5 * HOUR_MS).tolist() == [0.0, 0.75, 0.25]
    assert expected(bins, 4 * HOUR_MS + 60_000, 4 * HOUR_MS + 120_000).tolist() == [0.0, 0.5, 0.5]


def test_drift_leaves_out_calendar_features_and_label_rates():
    left_out = {f.name for f in FEATURES if isinstance(f, (Calendar, LabelRate))}
    assert left_out and not left_out & set(drift_columns())
    assert "amount" in drift_columns()


def test_traffic_like_the_reference_has_no_drift_and_a_shifted_feature_has():
    rng = np.random.default_rng(0)
    n = 24 * 500
    times = np.arange(n) * (24 * HOUR_MS // n)
    frame = pd.DataFrame({name: rng.gamma(2.0, 10.0, n) for name in drift_columns()}).assign(event_time=times)
    scores = rng.beta(1, 20, n)
    reference = reference_of(frame, scores)
    hour = frame[(times >= 5 * HOUR_MS) & (times < 6 * HOUR_MS)]
    same = window_psi(hour, scores[hour.index], reference, 5 * HOUR_MS, 6 * HOUR_MS)
    assert max(same.values()) == pytest.approx(0.0, abs=1e-12)  # the very rows of the reference
    shifted = hour.assign(amount=hour["amount"] * 3)
    moved = window_psi(shifted, scores[hour.index], reference, 5 * HOUR_MS, 6 * HOUR_MS)
    assert moved["amount"] > 0.25 and moved[SCORE] == same[SCORE]
