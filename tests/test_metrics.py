import numpy as np
import pytest

from models.metrics import average_precision, roc_auc


def test_perfect_and_inverted_rankings():
    y = np.array([0, 0, 1, 1])
    assert average_precision(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert average_precision(y, [0.9, 0.8, 0.2, 0.1]) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_ties_are_not_flattering():
    assert average_precision([1, 0], [0.5, 0.5]) == 0.5
    assert roc_auc([1, 0], [0.5, 0.5]) == 0.5
