"""Drift: how far a window of traffic has moved from what the serving model was trained on.

The measure is the population stability index (PSI) over bins fixed on reference data:
the decile edges of each model input and of the score, stored with the model
(`ModelMeta.reference`). A feature with many equal values (counts) has fewer edges;
a missing value (first transaction, card-not-present) is a bin of its own, since a
rise in missing values is drift too. PSI < 0.1 reads as stable, 0.1-0.25 as moderate,
above 0.25 as a major shift (a convention, docs/drift.md).

Traffic has a daily rhythm (a merchant's hourly count at 3 am is not its count at
noon), so an hour is compared with the same hour of the day in the reference: the
edges are shared, the expected share of each bin is kept per UTC hour of the day. The
reference is the last `REFERENCE_DAYS` of the training window, where every window is
as full as in production. Left out, by measurement on the generated drift scenario
(docs/drift.md): calendar features (an hour of traffic always holds one hour of the
day) and label rates (they move with the fraud rate itself, and with every merchant
that is compromised for a while: 0.2-0.33 in quiet weeks).

The stream bins and counts in the JVM (`DriftWindows.java`) from the same stored edges
and proportions, with the same rule: a value goes to the bin after every edge it
reaches (`np.searchsorted(..., side="right")`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from udfs.features import FEATURES, Calendar, LabelRate, model_inputs
from udfs.units import DAY_MS, HOUR_MS

DECILES = np.linspace(0.1, 0.9, 9)
SCORE = "score"
HOURS = 24
REFERENCE_DAYS = 7
PSI_FLOOR = 1e-4
"""A bin's share is at least this, so an empty bin on either side gives a large finite term, not infinity."""


def drift_columns() -> tuple[str, ...]:
    """The model inputs drift is measured on: all but calendar features and label rates."""
    left_out = {f.name for f in FEATURES if isinstance(f, (Calendar, LabelRate))}
    return tuple(name for name in model_inputs() if name not in left_out)


def bin_codes(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Each value's bin: 0 below the first edge, i after the i-th edge reached, `len(edges) + 1` when missing."""
    values = np.asarray(values, dtype="float64")
    codes = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="right")
    return np.where(np.isnan(values), len(edges) + 1, codes)


def hour_of_day(event_time_ms: np.ndarray) -> np.ndarray:
    return (np.asarray(event_time_ms, dtype="int64") // HOUR_MS) % HOURS


def bins_of(values: np.ndarray, hours: np.ndarray) -> dict[str, list]:
    """Decile edges of the present values, and per hour of the day the share of each bin (missing last)."""
    values = np.asarray(values, dtype="float64")
    present = values[~np.isnan(values)]
    edges = np.unique(np.quantile(present, DECILES)) if len(present) else np.array([])
    codes, width = bin_codes(values, edges), len(edges) + 2
    counts = np.zeros((HOURS, width))
    np.add.at(counts, (hours, codes), 1)
    return {"edges": edges.tolist(), "proportions_by_hour": (counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)).tolist()}


def reference_of(features: pd.DataFrame, scores: np.ndarray) -> dict[str, dict[str, list]]:
    """What a model is compared with in the stream: the bins of its inputs and scores over the last days it was trained on.

    `features`: model inputs and `event_time`, in time order, as scored to give `scores`.
    """
    times = features["event_time"].to_numpy("int64")
    recent = times >= times.max() - REFERENCE_DAYS * DAY_MS if len(times) else np.ones(0, dtype=bool)
    hours = hour_of_day(times[recent])
    reference = {name: bins_of(features[name].to_numpy(dtype="float64", na_value=np.nan)[recent], hours)
                 for name in drift_columns()}
    reference[SCORE] = bins_of(np.asarray(scores)[recent], hours)
    return reference


def expected(bins: dict[str, list], start_ms: int, end_ms: int) -> np.ndarray:
    """The reference shares for a window: the mean over the hours of the day it spans (the start's hour at least)."""
    hours = hour_of_day(np.arange(start_ms, max(end_ms, start_ms + 1), HOUR_MS))
    return np.asarray(bins["proportions_by_hour"])[np.unique(hours)].mean(axis=0)


def psi(counts: Sequence[float], proportions: Sequence[float]) -> float:
    """PSI of observed bin counts against reference shares: sum of (observed - expected) * ln(observed / expected)."""
    observed = np.asarray(counts, dtype="float64")
    observed = np.maximum(observed / max(observed.sum(), 1.0), PSI_FLOOR)
    expected_shares = np.maximum(np.asarray(proportions, dtype="float64"), PSI_FLOOR)
    return float(np.sum((observed - expected_shares) * np.log(observed / expected_shares)))


def window_psi(frame: pd.DataFrame, scores: np.ndarray, reference: dict[str, dict[str, list]],
               start_ms: int, end_ms: int) -> dict[str, float]:
    """PSI of every drift column and the score over one window of rows, as the stream computes it."""
    columns = {**{name: frame[name].to_numpy(dtype="float64", na_value=np.nan) for name in drift_columns()}, SCORE: scores}
    result = {}
    for name, values in columns.items():
        shares = expected(reference[name], start_ms, end_ms)
        result[name] = psi(np.bincount(bin_codes(values, reference[name]["edges"]), minlength=len(shares)), shares)
    return result
