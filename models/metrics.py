"""Fraud-model metrics in numpy (scikit-learn's joblib conflicts with PyFlink's pins)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd


def average_precision(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Mean precision at the rank of each positive (ties broken pessimistically).

    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333333333333333
    """
    y, score = np.asarray(y), np.asarray(score)
    if y.sum() == 0:
        return float("nan")
    order = np.lexsort((y, -score))
    hits = np.cumsum(y[order])
    precision = hits / np.arange(1, len(y) + 1)
    return float(precision[y[order] == 1].mean())


def roc_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Probability that a random positive outscores a random negative (ties count half).

    >>> roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.75
    """
    y, score = np.asarray(y), np.asarray(score)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))
