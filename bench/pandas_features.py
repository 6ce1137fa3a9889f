"""The same declared features computed with pandas: the benchmark's baseline.

What a competent engineer would write without Flink: vectorised groupby + time-based
rolling windows (closed at both ends, like the Flink windows), one pass per
(entity, window). It follows `udfs.features` so both compute the same columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from udfs.features import FEATURES, NIGHT_HOURS, Calendar, Feature, KmFromMean, LabelRate, PrevTx, Ratio, WindowAgg
from udfs.geo import haversine_km
from udfs.units import DAY_S, HOUR_S

_ROLLING = {"count": "count", "sum": "sum", "mean": "mean", "max": "max"}


def _rolling(frame: pd.DataFrame, key: str, column: str, how: str, window_s: int) -> pd.Series:
    """`how` of `column` over each row's entity window, closed at both ends, same-millisecond rows as peers."""
    ordered = frame.sort_values([key, "event_time", "tx_id"], kind="stable")
    stamped = ordered.set_index(pd.to_datetime(ordered["event_time"], unit="ms"))
    rolled = stamped.groupby(key, sort=False)[column].rolling(f"{window_s}s", closed="both")
    values = pd.Series(getattr(rolled, _ROLLING[how])().to_numpy(), index=ordered.index)
    # pandas ends a window at the row; a time window holds every transaction of that
    # millisecond (Flink's RANGE peers): give same-time rows the last one's value.
    values = values.groupby([ordered[key], ordered["event_time"]], sort=False).transform("last")
    return values.reindex(frame.index)


def _window(frame: pd.DataFrame, f: WindowAgg) -> pd.Series:
    return _rolling(frame, f.entity.key, f.column, f.how, f.window_s)


def _km_from_mean(frame: pd.DataFrame, f: KmFromMean) -> pd.Series:
    """The mean of the others' micro-degrees: the window's sums less the row's own, as the engine keeps them."""
    located = frame["lat"].notna() & frame["lon"].notna()
    micro = frame.assign(
        located=located.astype("float64"),
        lat_micro=np.where(located, np.rint(frame["lat"].fillna(0) * 1e6), 0.0),
        lon_micro=np.where(located, np.rint(frame["lon"].fillna(0) * 1e6), 0.0),
    )
    sums = {c: _rolling(micro, f.entity.key, c, "sum", f.window_s) for c in ("located", "lat_micro", "lon_micro")}
    others = sums["located"] - 1
    with np.errstate(invalid="ignore", divide="ignore"):  # rows without a place or without others: NaN, masked below
        lat = (sums["lat_micro"] - micro["lat_micro"]) / others / 1e6
        lon = (sums["lon_micro"] - micro["lon_micro"]) / others / 1e6
        km = haversine_km(lat, lon, frame["lat"], frame["lon"])
    return pd.Series(np.where(located & (others > 0), km, np.nan), index=frame.index)


def _previous(frame: pd.DataFrame, f: PrevTx) -> pd.Series:
    ordered = frame.sort_values([f.entity.key, "event_time", "tx_id"], kind="stable")
    prev = ordered.groupby(f.entity.key, sort=False)[["lat", "lon", "event_time"]].shift(1)
    seconds = (ordered["event_time"] - prev["event_time"]) / 1000
    km = haversine_km(prev["lat"], prev["lon"], ordered["lat"], ordered["lon"])
    value = {"km": km, "seconds": seconds, "kmh": km * 3600 / np.maximum(seconds, 1.0)}[f.kind]
    return pd.Series(np.asarray(value, dtype=float), index=ordered.index).reindex(frame.index)


_TIME_BITS = 43
"""Epoch ms fit in 43 bits until the year 2248: (entity code, time) packs into one sortable int64."""


def _label_rate(frame: pd.DataFrame, labels: pd.DataFrame, f: LabelRate) -> pd.Series:
    """Labels with event_time - window <= label_time < event_time, by binary search per entity."""
    key = f.entity.key
    if key not in labels:  # labels carry no card: it is the labelled transaction's
        labels = labels.merge(frame[["tx_id", key]].drop_duplicates("tx_id"), on="tx_id", how="inner")
    codes = {k: i for i, k in enumerate(pd.unique(pd.concat([frame[key], labels[key]])))}
    label_code = labels[key].map(codes).to_numpy(dtype=np.int64)
    packed = (label_code << _TIME_BITS) + labels["label_time"].to_numpy(dtype=np.int64)
    order = np.argsort(packed, kind="stable")
    packed, frauds = packed[order], np.concatenate([[0], np.cumsum(labels["is_fraud"].to_numpy()[order])])
    tx = (frame[key].map(codes).to_numpy(dtype=np.int64) << _TIME_BITS) + frame["event_time"].to_numpy(dtype=np.int64)
    lo = np.searchsorted(packed, tx - f.window_s * 1000, side="left")
    hi = np.searchsorted(packed, tx, side="left")
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, (frauds[hi] - frauds[lo]) / count, np.nan)
    return pd.Series(rate, index=frame.index)


def _calendar(frame: pd.DataFrame, f: Calendar) -> pd.Series:
    hour = (frame["event_time"] // (HOUR_S * 1000)) % 24
    if f.kind == "hour_of_day":
        return hour
    if f.kind == "is_night":
        return hour.between(*NIGHT_HOURS).astype("int64")
    return (((frame["event_time"] // (DAY_S * 1000)) + 3) % 7 >= 5).astype("int64")


def compute(transactions: pd.DataFrame, labels: pd.DataFrame, features: tuple[Feature, ...] = FEATURES) -> pd.DataFrame:
    """One row per transaction (same order as the input), one column per feature."""
    frame = transactions.reset_index(drop=True)
    out = frame[["tx_id", "cc_num", "merchant_id", "event_time", "amount"]].copy()
    for f in features:
        if isinstance(f, WindowAgg):
            out[f.name] = _window(frame, f)
        elif isinstance(f, PrevTx):
            out[f.name] = _previous(frame, f)
        elif isinstance(f, Calendar):
            out[f.name] = _calendar(frame, f)
        elif isinstance(f, LabelRate):
            out[f.name] = _label_rate(frame, labels, f)
        elif isinstance(f, KmFromMean):
            out[f.name] = _km_from_mean(frame, f)
    for f in features:
        if isinstance(f, Ratio):
            out[f.name] = frame[f.column] / out[f.denominator.name]
    return out
