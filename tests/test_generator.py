import numpy as np

from skewless.synthetic.generator import Population, simulate
from udfs.units import DAY_MS

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _world(seed=3):
    pop = Population.build(seed, 500, 120)
    return simulate(pop, seed, START, START + 20 * DAY_MS, 30_000)


def test_same_seed_same_data():
    tx1, labels1 = _world()
    tx2, labels2 = _world()
    assert tx1.equals(tx2) and labels1.equals(labels2)
    tx3, _ = _world(seed=4)
    assert not tx1.equals(tx3)


def test_fraud_rate_and_label_shape():
    tx, labels = _world()
    assert 0.001 <= labels["is_fraud"].mean() <= 0.01
    assert labels["tx_id"].tolist() == tx["tx_id"].tolist()
    assert (labels["label_time"] > tx["event_time"]).all()
    assert tx["tx_id"].is_unique
    assert tx["event_time"].is_monotonic_increasing


def test_fraud_is_far_from_home_more_often():
    tx, labels = _world()
    fraud = labels["is_fraud"].to_numpy() == 1
    located = tx["lat"].notna().to_numpy()
    pop = Population.build(3, 500, 120)
    home = pop.cards.set_index("cc_num")["home_city"]
    from skewless.synthetic.generator import CITIES
    home_lat = CITIES[home.loc[tx["cc_num"]].to_numpy(), 0]
    far = np.abs(tx["lat"].to_numpy() - home_lat) > 1.0
    assert far[fraud & located].mean() > 5 * far[~fraud & located].mean()
    assert tx.loc[fraud, "amount"].median() > 1.5 * tx.loc[~fraud, "amount"].median()


def test_live_slice_uses_each_card_once_for_legit_traffic():
    pop = Population.build(3, 500, 120)
    tx, labels = simulate(pop, 9, START, START + 5_000, 400, distinct_cards=True)
    legit_cards = tx.loc[labels["is_fraud"] == 0, "cc_num"]
    assert legit_cards.is_unique


def test_drift_adds_night_card_testing_at_home_only_after_its_start():
    from skewless.synthetic.generator import TESTING_AMOUNT, TESTING_HOURS, Drift
    from udfs.units import HOUR_MS

    pop = Population.build(3, 500, 120)
    shift = START + 10 * DAY_MS
    plain, _ = simulate(pop, 3, START, START + 20 * DAY_MS, 30_000)
    drifted, labels = simulate(pop, 3, START, START + 20 * DAY_MS, 30_000, drift=Drift(shift))
    columns = ["cc_num", "merchant_id", "amount", "event_time"]
    new = drifted.merge(plain[columns], on=columns, how="left", indicator=True).query("_merge == 'left_only'")
    assert len(new) > 20
    assert labels.set_index("tx_id").loc[new["tx_id"], "is_fraud"].eq(1).all()
    assert (new["event_time"] >= shift).all()
    hour = (new["event_time"] // HOUR_MS) % 24
    assert hour.between(TESTING_HOURS[0], TESTING_HOURS[1] + 1).all()
    assert new["amount"].between(*TESTING_AMOUNT).all()
    home = pop.cards.set_index("cc_num")["home_city"]
    city = pop.merchants.set_index("merchant_id")["city"]
    assert (home[new["cc_num"]].to_numpy() == city[new["merchant_id"]].to_numpy()).all()
    before = drifted[drifted["event_time"] < shift][columns].reset_index(drop=True)
    assert before.equals(plain[plain["event_time"] < shift][columns].reset_index(drop=True))


def test_label_delays_are_configurable():
    from skewless.synthetic.generator import LabelDelays

    pop = Population.build(3, 500, 120)
    tx, labels = simulate(pop, 3, START, START + 5 * DAY_MS, 5_000, label_delays=LabelDelays(DAY_MS // 2, DAY_MS))
    delay = labels["label_time"] - tx["event_time"]
    assert (delay[labels["is_fraud"] == 0] == DAY_MS).all()
    assert abs(delay[labels["is_fraud"] == 1].median() - DAY_MS // 2) < DAY_MS // 4
