"""The canonical transaction and label records, and normalisation of any history file.

Internally times are epoch milliseconds (UTC) in `event_time` / `label_time`: the
same integer in a Kafka message, a staged CSV and a Flink row, so no time zone or
precision conversion can differ between the two pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skewless.errors import SkewlessError

TRANSACTION_COLUMNS = ("tx_id", "cc_num", "merchant_id", "amount", "lat", "lon", "event_time", "category")
REQUIRED_TRANSACTION_COLUMNS = ("tx_id", "cc_num", "merchant_id", "amount", "lat", "lon", "event_time")
LABEL_COLUMNS = ("tx_id", "merchant_id", "is_fraud", "label_time")
ID_COLUMNS = ("tx_id", "cc_num", "merchant_id", "category")
MAX_AMOUNT = 1e10
"""Amounts are read as exact DECIMAL(12, 2) and carried in integer cents by the feature engine: below ten billion."""


@dataclass(frozen=True)
class Normalised:
    """Rows ready for the pipelines, and the rows set aside with the reason for each."""

    rows: pd.DataFrame
    rejected: pd.DataFrame


def read_table(path: Path, string_columns: tuple[str, ...] = ID_COLUMNS) -> pd.DataFrame:
    """Read parquet or CSV; identifiers stay strings (a card number is not an integer)."""
    if not path.exists():
        raise SkewlessError(f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") or path.is_dir():
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".gz"):
            frame = pd.read_csv(path, dtype={c: "string" for c in string_columns}, keep_default_na=True)
        else:
            raise SkewlessError(f"{path}: unknown file type '{suffix}', use .parquet or .csv")
    except (OSError, ValueError) as exc:
        raise SkewlessError(f"{path} could not be read: {exc}") from None
    return frame


def to_epoch_ms(values: pd.Series, column: str, source: Path | str) -> pd.Series:
    """Epoch milliseconds from datetimes (naive ones are taken as UTC), ISO strings or integers.

    Unparseable values become <NA> so the caller can set those rows aside.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values if getattr(values.dt, "tz", None) is not None else values.dt.tz_localize("UTC")
        ms = stamps.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
        return pd.Series(ms, index=values.index, dtype="Int64").mask(values.isna())
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    if parsed.notna().sum() == 0 and values.notna().any():
        raise SkewlessError(
            f"{source}: column '{column}' holds neither timestamps nor epoch milliseconds "
            f"(first value: {values.dropna().iloc[0]!r})"
        )
    return to_epoch_ms(parsed, column, source)


def normalise_transactions(frame: pd.DataFrame, source: Path | str, keep_order: bool = False) -> Normalised:
    """Canonical columns and types, sorted by (event_time, tx_id) unless `keep_order`; bad rows set aside."""
    missing = [c for c in REQUIRED_TRANSACTION_COLUMNS if c not in frame.columns]
    if missing:
        raise SkewlessError(
            f"{source} lacks column(s) {', '.join(missing)}; a transaction history needs "
            f"{', '.join(REQUIRED_TRANSACTION_COLUMNS)} (category optional)"
        )
    raw = frame.copy()
    if "category" not in raw.columns:
        raw["category"] = pd.NA
    out = pd.DataFrame(index=raw.index)
    for column in ID_COLUMNS:
        out[column] = raw[column].astype("string").str.strip()
    out["amount"] = pd.to_numeric(raw["amount"], errors="coerce").round(2)
    out["lat"] = pd.to_numeric(raw["lat"], errors="coerce")
    out["lon"] = pd.to_numeric(raw["lon"], errors="coerce")
    out["event_time"] = to_epoch_ms(raw["event_time"], "event_time", source)

    checks = [
        (out["tx_id"].isna() | (out["tx_id"] == ""), "tx_id is empty"),
        (out["cc_num"].isna() | (out["cc_num"] == ""), "cc_num is empty"),
        (out["merchant_id"].isna() | (out["merchant_id"] == ""), "merchant_id is empty"),
        (out["amount"].isna() | ~np.isfinite(out["amount"].fillna(0)), "amount is not a number"),
        (out["amount"].abs() >= MAX_AMOUNT, f"amount is not below {MAX_AMOUNT:.0e}"),
        (out["event_time"].isna(), "event_time is not a timestamp"),
        (out["lat"].abs().gt(90) | out["lon"].abs().gt(180), "lat/lon out of range"),
        (out["lat"].isna() != out["lon"].isna(), "only one of lat/lon is set"),
    ]
    reason = pd.Series(pd.NA, index=out.index, dtype="string")
    for bad, why in checks:
        reason = reason.mask(reason.isna() & bad.fillna(True).astype(bool), why)
    first_seen = out["tx_id"].where(reason.isna()).duplicated(keep="first")
    reason = reason.mask(reason.isna() & first_seen, "duplicate tx_id")
    good = reason.isna()
    rows = out.loc[good].astype({"event_time": "int64"})
    if not keep_order:
        rows = rows.sort_values(["event_time", "tx_id"], kind="stable")
    rejected = raw.loc[~good].assign(reject_reason=reason.loc[~good])
    return Normalised(rows.reset_index(drop=True)[list(TRANSACTION_COLUMNS)], rejected)


def normalise_labels(frame: pd.DataFrame, source: Path | str, transactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Canonical labels sorted by (label_time, tx_id).

    A labels file without `merchant_id` takes it from `transactions` by tx_id.
    """
    if "merchant_id" not in frame.columns and transactions is not None:
        frame = frame.merge(transactions[["tx_id", "merchant_id"]].astype("string"), on="tx_id", how="left")
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise SkewlessError(f"{source} lacks label column(s) {', '.join(missing)}; labels need {', '.join(LABEL_COLUMNS)}")
    labels = pd.DataFrame({
        "tx_id": frame["tx_id"].astype("string"),
        "merchant_id": frame["merchant_id"].astype("string"),
        "is_fraud": pd.to_numeric(frame["is_fraud"], errors="coerce"),
        "label_time": to_epoch_ms(frame["label_time"], "label_time", source),
    })
    bad = labels.isna().any(axis=1) | ~labels["is_fraud"].isin([0, 1])
    if bad.any():
        first = frame.loc[bad].iloc[0].to_dict()
        raise SkewlessError(
            f"{source}: {int(bad.sum())} label row(s) invalid (is_fraud 0/1, label_time a timestamp, "
            f"merchant_id set or its tx_id in the history); first: {first}"
        )
    labels = labels.astype({"is_fraud": "int8", "label_time": "int64"})
    return labels.sort_values(["label_time", "tx_id"], kind="stable").reset_index(drop=True)
