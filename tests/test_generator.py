import numpy as np

from skewless.generator import DAY_MS, Population, simulate

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
    from skewless.generator import CITIES
    home_lat = CITIES[home.loc[tx["cc_num"]].to_numpy(), 0]
    far = np.abs(tx["lat"].to_numpy() - home_lat) > 1.0
    assert far[fraud & located].mean() > 5 * far[~fraud & located].mean()
    assert tx.loc[fraud, "amount"].median() > 1.5 * tx.loc[~fraud, "amount"].median()


def test_live_slice_uses_each_card_once_for_legit_traffic():
    pop = Population.build(3, 500, 120)
    tx, labels = simulate(pop, 9, START, START + 5_000, 400, distinct_cards=True)
    legit_cards = tx.loc[labels["is_fraud"] == 0, "cc_num"]
    assert legit_cards.is_unique
