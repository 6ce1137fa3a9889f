"""Every feature, declared once, as data.

The Flink jobs compile these declarations to SQL, the Feast feature views in
`feature_repo/` are built from them, and the model records their names: nothing
else lists feature names or types.

Inclusion of the current transaction, for every feature:
- window aggregates (`WindowAgg`) INCLUDE the current transaction, and the window is
  closed at both ends: a transaction exactly `window_s` earlier is in it;
- previous-transaction features (`PrevTx`) compare with the entity's previous
  transaction and are null for its first one; a card's transactions in the same
  millisecond are ordered by `tx_id`, so the second one's previous is the first; the distance and speed are null when
  either transaction has no location (card-not-present); speed floors the time gap at
  one second, so two places in the same second read as very fast, not infinite;
- ratios (`Ratio`) divide a field of the transaction by a window feature that
  includes it (so `amount_to_mean_card_30d` is 1.0 for a card's first transaction);
- label rates (`LabelRate`) EXCLUDE the current transaction and everything not yet
  labelled: only labels with `event_time - window_s <= label_time < event_time` count,
  so a chargeback is used only once it has arrived (no leakage); null with no labels;
- calendar flags (`Calendar`) use the transaction's own UTC event time;
- distances from the mean location (`KmFromMean`) EXCLUDE the current transaction: the
  mean is over the entity's other located transactions in the window (closed at both
  ends, same-millisecond peers included); null when the transaction or all the others
  have no location.

Transactions in the same millisecond are peers in a time window: each one's window
holds all of them (a window is a span of time, not a count of rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from udfs.units import DAY_S, HOUR_S, MINUTE_S

Aggregation = Literal["count", "sum", "mean", "max"]
PrevKind = Literal["km", "seconds", "kmh"]
CalendarKind = Literal["hour_of_day", "is_night", "is_weekend"]
DType = Literal["float64", "int64"]


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    description: str


CARD = Entity("card", "cc_num", "A payment card, keyed by its number")
MERCHANT = Entity("merchant", "merchant_id", "A merchant (acceptor)")
ENTITIES = (CARD, MERCHANT)
TRANSACTION = Entity("transaction", "tx_id", "One card transaction: the row a model is trained on and scores")
"""Not an entity features are declared on: training sets and the served-features log join on it."""

_UNITS = (("d", DAY_S), ("h", HOUR_S), ("min", MINUTE_S), ("s", 1))


def window_label(window_s: int) -> str:
    """Shortest exact unit label: 3600 -> '1h', 600 -> '10min', 2592000 -> '30d'."""
    for suffix, size in _UNITS:
        if window_s % size == 0:
            return f"{window_s // size}{suffix}"
    raise ValueError(f"window_s must be a whole number of seconds, got {window_s}")


def _check_window(name: str, window_s: int) -> None:
    if window_s <= 0:
        raise ValueError(f"{name}: window_s must be positive, got {window_s}")


@dataclass(frozen=True)
class WindowAgg:
    """An aggregate of `column` over the entity's transactions in the last `window_s` seconds."""

    entity: Entity
    column: str
    how: Aggregation
    window_s: int
    description: str = ""

    def __post_init__(self) -> None:
        _check_window(self.name, self.window_s)
        if self.how not in ("count", "sum", "mean", "max"):
            raise ValueError(f"{self.column}: unknown aggregation '{self.how}'")

    @property
    def name(self) -> str:
        return f"{self.column}_{self.how}_{self.entity.name}_{window_label(self.window_s)}"

    @property
    def dtype(self) -> DType:
        return "int64" if self.how == "count" else "float64"


@dataclass(frozen=True)
class PrevTx:
    """Distance (km), time (s) or implied speed (km/h) since the entity's previous transaction."""

    entity: Entity
    kind: PrevKind
    description: str = ""
    dtype: ClassVar[DType] = "float64"

    @property
    def name(self) -> str:
        return f"{self.kind}_since_prev_{self.entity.name}"


@dataclass(frozen=True)
class Ratio:
    """A field of the transaction divided by a window feature of the same entity."""

    column: str
    denominator: WindowAgg
    description: str = ""
    dtype: ClassVar[DType] = "float64"

    @property
    def entity(self) -> Entity:
        return self.denominator.entity

    @property
    def name(self) -> str:
        d = self.denominator
        return f"{self.column}_to_{d.how}_{d.entity.name}_{window_label(d.window_s)}"


@dataclass(frozen=True)
class LabelRate:
    """Share of the entity's labels that arrived in the last `window_s` seconds and say fraud.

    Built from the `fraud-labels` stream (chargebacks), keyed by the label's
    `label_time`: the label delay of the data decides what is known when.
    """

    entity: Entity
    window_s: int
    description: str = ""
    dtype: ClassVar[DType] = "float64"

    @property
    def name(self) -> str:
        return f"fraud_rate_{self.entity.name}_{window_label(self.window_s)}"


@dataclass(frozen=True)
class KmFromMean:
    """Haversine km from the transaction to the mean location of the entity's other transactions in the window.

    Fraud on a stolen card happens far from where the card is used; the previous
    transaction alone cannot tell once a burst has moved there (the second purchase of a
    burst is near the first). The mean is of latitudes and longitudes, exact in
    micro-degrees: the centre of a card's area, not of a sphere (use is within a region).
    """

    entity: Entity
    window_s: int
    description: str = ""
    dtype: ClassVar[DType] = "float64"

    def __post_init__(self) -> None:
        _check_window(self.name, self.window_s)

    @property
    def name(self) -> str:
        return f"km_from_mean_{self.entity.name}_{window_label(self.window_s)}"


NIGHT_HOURS = (0, 5)
"""UTC hours [first, last] counted as night."""


@dataclass(frozen=True)
class Calendar:
    """Hour of day (UTC), night and weekend flags of the transaction's event time."""

    entity: Entity
    kind: CalendarKind
    description: str = ""
    dtype: ClassVar[DType] = "int64"

    @property
    def name(self) -> str:
        return self.kind


Feature = WindowAgg | PrevTx | Ratio | LabelRate | Calendar | KmFromMean

_CARD_MEAN_30D = WindowAgg(CARD, "amount", "mean", 30 * DAY_S, "Card mean amount over 30 days")

FEATURES: tuple[Feature, ...] = (
    PrevTx(CARD, "km", "Haversine km from the card's previous transaction"),
    PrevTx(CARD, "seconds", "Seconds since the card's previous transaction"),
    PrevTx(CARD, "kmh", "Implied speed from the card's previous transaction"),
    KmFromMean(CARD, DAY_S, "Haversine km from the mean location of the card's other transactions over a day"),
    KmFromMean(CARD, 30 * DAY_S, "Haversine km from the mean location of the card's other transactions over 30 days"),
    WindowAgg(CARD, "amount", "count", 10 * MINUTE_S, "Card transactions over the last 10 minutes"),
    WindowAgg(CARD, "amount", "sum", 10 * MINUTE_S, "Card spend over the last 10 minutes"),
    WindowAgg(CARD, "amount", "count", HOUR_S, "Card transactions over the last hour"),
    WindowAgg(CARD, "amount", "sum", HOUR_S, "Card spend over the last hour"),
    WindowAgg(CARD, "amount", "count", DAY_S, "Card transactions over the last day"),
    WindowAgg(CARD, "amount", "sum", DAY_S, "Card spend over the last day"),
    WindowAgg(CARD, "amount", "max", 7 * DAY_S, "Card largest amount over 7 days"),
    WindowAgg(CARD, "amount", "count", 30 * DAY_S, "Card transactions over 30 days"),
    _CARD_MEAN_30D,
    Ratio("amount", _CARD_MEAN_30D, "Amount relative to the card's 30-day mean"),
    WindowAgg(MERCHANT, "amount", "count", HOUR_S, "Merchant transactions over the last hour"),
    WindowAgg(MERCHANT, "amount", "count", DAY_S, "Merchant transactions over the last day"),
    WindowAgg(MERCHANT, "amount", "mean", 7 * DAY_S, "Merchant mean amount over 7 days"),
    LabelRate(MERCHANT, 7 * DAY_S, "Share of the merchant's labels of the last 7 days that are fraud"),
    Calendar(CARD, "hour_of_day", "UTC hour of the transaction"),
    Calendar(CARD, "is_night", f"1 if the UTC hour is in {NIGHT_HOURS[0]}..{NIGHT_HOURS[1]}"),
    Calendar(CARD, "is_weekend", "1 on Saturday and Sunday (UTC)"),
)

TRANSACTION_INPUTS: tuple[str, ...] = ("amount",)
"""Fields of the transaction itself that the model reads beside the features."""


def includes_current(feature: Feature) -> str:
    """How the current transaction enters the feature (documented per feature kind above)."""
    if isinstance(feature, WindowAgg):
        return f"yes; window closed at both ends ({window_label(feature.window_s)})"
    if isinstance(feature, PrevTx):
        return "compares with the previous one"
    if isinstance(feature, Ratio):
        return "yes (numerator and window)"
    if isinstance(feature, LabelRate):
        return f"no; labels that arrived before it, within {window_label(feature.window_s)}"
    if isinstance(feature, KmFromMean):
        return f"no; the mean of the others located within {window_label(feature.window_s)}"
    return "its own event time"


def features_of(entity: Entity) -> tuple[Feature, ...]:
    return tuple(f for f in FEATURES if f.entity == entity)


def feature_names() -> tuple[str, ...]:
    return tuple(f.name for f in FEATURES)


def model_inputs() -> tuple[str, ...]:
    """Model input columns, in the order the model is trained and served with."""
    return TRANSACTION_INPUTS + feature_names()


def validate(features: tuple[Feature, ...] = FEATURES) -> None:
    """Refuse duplicate names (two features sharing a Feast column) and ratios over undeclared windows."""
    names = [f.name for f in features]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"feature names declared twice: {', '.join(dupes)}")
    for f in features:
        if isinstance(f, Ratio) and f.denominator not in features:
            raise ValueError(f"{f.name}: its denominator {f.denominator.name} is not declared")


validate()
