"""Synthetic but realistic card transactions and fraud labels, deterministic per seed.

The population (cards with a home city, merchants with a location and category) is
fixed by the seed, so a live stream produced later continues the same cards'
histories. Fraud is learnable but not trivial:

- compromised cards: a burst of transactions in a far-away city within hours of the
  card's last use at home (impossible travel), with higher amounts; a third of them
  card-not-present (no location), so distance alone cannot find them;
- compromised merchants: for a while, a share of the transactions at a merchant is
  fraudulent, otherwise indistinguishable except for a modest amount uplift;
- legitimate noise: travellers buying far from home, online purchases, big tickets.

A `Drift` adds a fraud pattern that starts mid-way (for `skewless evaluate`): card
testing, stolen numbers tried with runs of small night-time purchases in the card's
own city. Nothing in the history before it looks like that fraud, so a model trained
then has not learnt it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from udfs.units import DAY_MS, HOUR_MS

CITIES = np.array([
    (40.7128, -74.0060), (34.0522, -118.2437), (41.8781, -87.6298), (29.7604, -95.3698),
    (33.4484, -112.0740), (39.9526, -75.1652), (29.4241, -98.4936), (32.7157, -117.1611),
    (32.7767, -96.7970), (37.3382, -121.8863), (30.2672, -97.7431), (30.3322, -81.6557),
    (37.7749, -122.4194), (39.9612, -82.9988), (35.2271, -80.8431), (39.7684, -86.1581),
    (47.6062, -122.3321), (39.7392, -104.9903), (38.9072, -77.0369), (42.3601, -71.0589),
    (25.7617, -80.1918), (45.5152, -122.6784), (36.1699, -115.1398), (44.9778, -93.2650),
])
CATEGORIES = ("grocery", "gas", "restaurant", "retail", "travel", "electronics", "online")
CATEGORY_LOG_MEAN = np.array([3.6, 3.7, 3.3, 4.0, 5.6, 5.0, 3.9])
CATEGORY_LOG_SD = np.array([0.5, 0.3, 0.5, 0.8, 0.7, 0.8, 0.9])
ONLINE = CATEGORIES.index("online")

LEGIT_TRAVEL_SHARE = 0.04
LEGIT_ONLINE_SHARE = 0.08
COMPROMISES_PER_TX = 0.0009
BURST_SIZE = (2, 8)
FRAUD_ONLINE_SHARE = 0.35
FRAUD_AMOUNT_UPLIFT = 2.5
MERCHANT_COMPROMISE_SHARE = 0.02
MERCHANT_FRAUD_PROBABILITY = 0.12
FRAUD_LABEL_DELAY_MEDIAN_MS = 2 * DAY_MS
LEGIT_LABEL_DELAY_MS = 7 * DAY_MS
TESTING_RUN_SIZE = (3, 9)
TESTING_GAP_MS = 90_000
TESTING_AMOUNT = (1.0, 12.0)
TESTING_HOURS = (1, 5)


@dataclass(frozen=True)
class LabelDelays:
    """How long after a transaction its label is known: chargebacks (fraud) vary, clearance (legit) is fixed."""

    fraud_median_ms: int = FRAUD_LABEL_DELAY_MEDIAN_MS
    legit_ms: int = LEGIT_LABEL_DELAY_MS


@dataclass(frozen=True)
class Drift:
    """From `start_ms` on, `cards_per_tx` of the legitimate volume is a card-testing run (see module doc)."""

    start_ms: int
    cards_per_tx: float = 0.003


@dataclass(frozen=True)
class Population:
    cards: pd.DataFrame
    merchants: pd.DataFrame

    @classmethod
    def build(cls, seed: int, n_cards: int, n_merchants: int) -> Population:
        rng = np.random.default_rng([seed, 0])
        city = rng.integers(0, len(CITIES), n_cards)
        cards = pd.DataFrame({
            "cc_num": [f"4{n:015d}" for n in rng.choice(10**15, n_cards, replace=False)],
            "home_city": city,
            "activity": rng.gamma(2.0, 0.5, n_cards),
            "spend_scale": rng.lognormal(0.0, 0.35, n_cards),
        })
        m_city = rng.integers(0, len(CITIES), n_merchants)
        category = rng.choice(len(CATEGORIES), n_merchants, p=[0.22, 0.13, 0.2, 0.18, 0.05, 0.07, 0.15])
        jitter = rng.normal(0.0, 0.08, (n_merchants, 2))
        located = category != ONLINE
        merchants = pd.DataFrame({
            "merchant_id": [f"M{n:06d}" for n in range(n_merchants)],
            "city": m_city,
            "category": category,
            "lat": np.where(located, CITIES[m_city, 0] + jitter[:, 0], np.nan),
            "lon": np.where(located, CITIES[m_city, 1] + jitter[:, 1], np.nan),
            "compromised": rng.random(n_merchants) < MERCHANT_COMPROMISE_SHARE,
            "compromise_start": rng.random(n_merchants),
        })
        return cls(cards, merchants)


def _pick_merchants(rng: np.random.Generator, merchants: pd.DataFrame, cities: np.ndarray, online: np.ndarray) -> np.ndarray:
    """A merchant in each given city (or an online merchant where `online`)."""
    located = merchants.index[merchants["category"] != ONLINE].to_numpy()
    by_city = {c: located[merchants.loc[located, "city"].to_numpy() == c] for c in range(len(CITIES))}
    web = merchants.index[merchants["category"] == ONLINE].to_numpy()
    chosen = np.empty(len(cities), dtype=np.int64)
    for c in np.unique(cities):
        pool = by_city[c] if len(by_city[c]) else located
        rows = np.flatnonzero((cities == c) & ~online)
        chosen[rows] = rng.choice(pool, len(rows))
    chosen[online] = rng.choice(web if len(web) else located, int(online.sum()))
    return chosen


def _amounts(rng: np.random.Generator, category: np.ndarray, scale: np.ndarray) -> np.ndarray:
    raw = rng.lognormal(CATEGORY_LOG_MEAN[category], CATEGORY_LOG_SD[category]) * scale
    return np.round(np.maximum(raw, 1.0), 2)


def _diurnal_times(rng: np.random.Generator, start_ms: int, end_ms: int, n: int) -> np.ndarray:
    """Uniform days, hours weighted towards daytime (fewer purchases at night)."""
    t = rng.integers(start_ms, end_ms, n * 2)
    hour = (t // HOUR_MS) % 24
    weight = np.where((hour >= 7) & (hour <= 22), 1.0, 0.25)
    keep = rng.random(len(t)) < weight
    t = t[keep][:n]
    if len(t) < n:
        t = np.concatenate([t, rng.integers(start_ms, end_ms, n - len(t))])
    return t


def _frame(pop: Population, card: np.ndarray, merchant: np.ndarray, t: np.ndarray, amount: np.ndarray, fraud: np.ndarray) -> pd.DataFrame:
    m = pop.merchants.iloc[merchant]
    return pd.DataFrame({
        "cc_num": pop.cards["cc_num"].to_numpy()[card],
        "merchant_id": m["merchant_id"].to_numpy(),
        "amount": amount,
        "lat": np.round(m["lat"].to_numpy(), 6),
        "lon": np.round(m["lon"].to_numpy(), 6),
        "event_time": t,
        "category": np.array(CATEGORIES)[m["category"].to_numpy()],
        "is_fraud": fraud.astype(np.int8),
    })


def _legit(pop: Population, rng: np.random.Generator, start_ms: int, end_ms: int, n: int, distinct_cards: bool) -> pd.DataFrame:
    cards = pop.cards
    weights = (cards["activity"] / cards["activity"].sum()).to_numpy()
    card = rng.choice(len(cards), n, p=weights, replace=not (distinct_cards and n <= len(cards)))
    home = cards["home_city"].to_numpy()[card]
    travel = rng.random(n) < LEGIT_TRAVEL_SHARE
    city = np.where(travel, rng.integers(0, len(CITIES), n), home)
    online = rng.random(n) < LEGIT_ONLINE_SHARE
    merchant = _pick_merchants(rng, pop.merchants, city, online)
    t = _diurnal_times(rng, start_ms, end_ms, n)
    amount = _amounts(rng, pop.merchants["category"].to_numpy()[merchant], cards["spend_scale"].to_numpy()[card])

    m = pop.merchants.iloc[merchant]
    window_start = start_ms + m["compromise_start"].to_numpy() * 0.7 * (end_ms - start_ms)
    in_window = m["compromised"].to_numpy() & (t >= window_start) & (t < window_start + 0.3 * (end_ms - start_ms))
    fraud = in_window & (rng.random(n) < MERCHANT_FRAUD_PROBABILITY)
    amount = np.where(fraud, np.round(amount * 1.5, 2), amount)
    return _frame(pop, card, merchant, t, amount, fraud)


def _bursts(pop: Population, rng: np.random.Generator, start_ms: int, end_ms: int, n_compromised: int, gap_ms: float) -> pd.DataFrame:
    """Compromised cards: several quick transactions far from the card's home city."""
    card = rng.choice(len(pop.cards), n_compromised, replace=False if n_compromised <= len(pop.cards) else True)
    size = rng.integers(BURST_SIZE[0], BURST_SIZE[1] + 1, n_compromised)
    card = np.repeat(card, size)
    t0 = np.repeat(rng.integers(start_ms, max(start_ms + 1, end_ms - int(gap_ms * BURST_SIZE[1])), n_compromised), size)
    gaps = rng.exponential(gap_ms, len(card)).astype(np.int64)
    burst_id = np.repeat(np.arange(n_compromised), size)
    t = t0 + pd.Series(gaps).groupby(burst_id).cumsum().to_numpy()
    home = pop.cards["home_city"].to_numpy()[card]
    far = np.repeat(rng.integers(1, len(CITIES), n_compromised), size)
    city = (home + far) % len(CITIES)
    online = rng.random(len(card)) < FRAUD_ONLINE_SHARE
    merchant = _pick_merchants(rng, pop.merchants, city, online)
    amount = _amounts(rng, pop.merchants["category"].to_numpy()[merchant], pop.cards["spend_scale"].to_numpy()[card])
    amount = np.round(amount * rng.uniform(1.0, FRAUD_AMOUNT_UPLIFT * 2, len(card)), 2)
    return _frame(pop, card, merchant, np.minimum(t, end_ms - 1), amount, np.ones(len(card), dtype=bool))


def _card_testing(pop: Population, rng: np.random.Generator, start_ms: int, end_ms: int, n_cards: int) -> pd.DataFrame:
    """Runs of small purchases a minute or two apart, at night, at merchants of the card's home city."""
    card = rng.choice(len(pop.cards), n_cards, replace=n_cards > len(pop.cards))
    size = rng.integers(TESTING_RUN_SIZE[0], TESTING_RUN_SIZE[1] + 1, n_cards)
    days = rng.integers(start_ms // DAY_MS, max(start_ms // DAY_MS + 1, end_ms // DAY_MS), n_cards)
    night = rng.integers(TESTING_HOURS[0] * HOUR_MS, TESTING_HOURS[1] * HOUR_MS, n_cards)
    t0 = np.repeat(np.maximum(days * DAY_MS + night, start_ms), size)
    card, run_id = np.repeat(card, size), np.repeat(np.arange(n_cards), size)
    t = t0 + pd.Series(rng.exponential(TESTING_GAP_MS, len(card)).astype(np.int64)).groupby(run_id).cumsum().to_numpy()
    merchant = _pick_merchants(rng, pop.merchants, pop.cards["home_city"].to_numpy()[card], np.zeros(len(card), dtype=bool))
    amount = np.round(rng.uniform(*TESTING_AMOUNT, len(card)), 2)
    return _frame(pop, card, merchant, np.minimum(t, end_ms - 1), amount, np.ones(len(card), dtype=bool))


def simulate(
    pop: Population, seed: int, start_ms: int, end_ms: int, n_legit: int,
    id_prefix: str = "tx", burst_gap_ms: float = 20 * 60_000, distinct_cards: bool = False,
    drift: Drift | None = None, label_delays: LabelDelays = LabelDelays(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions (sorted by time, ids in time order) and one label per transaction.

    A label names the merchant, as a chargeback does: merchant fraud rates need it.

    `distinct_cards` gives each card at most one legitimate transaction: a live slice
    of seconds from a large population, where only a fraud burst repeats a card.
    """
    rng = np.random.default_rng([seed, 1, start_ms])
    legit = _legit(pop, rng, start_ms, end_ms, n_legit, distinct_cards)
    n_compromised = max(1, round(n_legit * COMPROMISES_PER_TX))
    parts = [legit, _bursts(pop, rng, start_ms, end_ms, n_compromised, burst_gap_ms)]
    if drift is not None and drift.start_ms < end_ms:
        begin = max(start_ms, drift.start_ms)
        n_testing = max(1, round(n_legit * drift.cards_per_tx * (end_ms - begin) / (end_ms - start_ms)))
        parts.append(_card_testing(pop, rng, begin, end_ms, n_testing))
    tx = pd.concat(parts, ignore_index=True)
    tx = tx.sort_values(["event_time", "cc_num", "amount"], kind="stable").reset_index(drop=True)
    width = max(9, len(str(len(tx))))
    tx.insert(0, "tx_id", [f"{id_prefix}{i:0{width}d}" for i in range(len(tx))])

    fraud = tx["is_fraud"].to_numpy().astype(bool)
    delay = np.where(
        fraud,
        np.clip(rng.lognormal(np.log(label_delays.fraud_median_ms), 0.8, len(tx)), HOUR_MS, 30 * DAY_MS),
        label_delays.legit_ms,
    ).astype(np.int64)
    labels = pd.DataFrame({
        "tx_id": tx["tx_id"], "merchant_id": tx["merchant_id"], "is_fraud": tx["is_fraud"],
        "label_time": tx["event_time"] + delay,
    })
    return tx.drop(columns="is_fraud"), labels
