import pytest

from jobs.feature_sql import feature_query, interval, interval_ms, output_columns
from udfs.features import CARD, FEATURES, MERCHANT, LabelRate, PrevTx, WindowAgg, model_inputs, validate, window_label


def test_names_are_derived_from_the_definition():
    assert WindowAgg(CARD, "amount", "sum", 3600).name == "amount_sum_card_1h"
    assert WindowAgg(MERCHANT, "amount", "count", 600).name == "amount_count_merchant_10min"
    assert WindowAgg(CARD, "amount", "mean", 30 * 86400).name == "amount_mean_card_30d"
    assert PrevTx(CARD, "km").name == "km_since_prev_card"


@pytest.mark.parametrize(("seconds", "label", "sql"), [
    (600, "10min", "INTERVAL '10' MINUTE"), (3600, "1h", "INTERVAL '1' HOUR"),
    (86400, "1d", "INTERVAL '1' DAY"), (7 * 86400, "7d", "INTERVAL '7' DAY"), (90, "90s", "INTERVAL '90' SECOND"),
])
def test_window_labels_and_sql_intervals(seconds, label, sql):
    assert window_label(seconds) == label
    assert interval(seconds) == sql


def test_invalid_declarations_are_refused():
    with pytest.raises(ValueError, match="window_s must be positive"):
        WindowAgg(CARD, "amount", "sum", 0)
    with pytest.raises(ValueError, match="unknown aggregation"):
        WindowAgg(CARD, "amount", "median", 60)
    with pytest.raises(ValueError, match="declared twice: amount_sum_card_1h"):
        validate((WindowAgg(CARD, "amount", "sum", 3600), WindowAgg(CARD, "amount", "sum", 3600)))


def test_query_outputs_every_declared_feature_in_order():
    query = feature_query()
    assert output_columns()[5:] == tuple(f.name for f in FEATURES)
    for feature in FEATURES:
        assert f"AS {feature.name}" in query
    assert model_inputs() == ("amount", *(f.name for f in FEATURES))


def test_one_over_layer_per_entity_window():
    features = (
        WindowAgg(CARD, "amount", "sum", 3600), WindowAgg(CARD, "amount", "count", 3600),
        WindowAgg(CARD, "amount", "max", 86400), WindowAgg(MERCHANT, "amount", "count", 3600),
    )
    query = feature_query(features)
    assert query.count("RANGE BETWEEN") == 3
    assert "PARTITION BY merchant_id" in query


def test_label_rate_window_ends_one_millisecond_before_the_transaction():
    rate = LabelRate(MERCHANT, 7 * 86400)
    assert rate.name == "fraud_rate_merchant_7d"
    # labels sit at label_time + 1 ms: a window of 7 d - 1 ms keeps label_time in [t - 7 d, t)
    assert interval_ms(7 * 86_400_000 - 1) in feature_query((rate,))
    assert interval_ms(7 * 86_400_000 - 1) == "INTERVAL '6 23:59:59.999' DAY(3) TO SECOND(3)"
    assert interval_ms(90_061_001) == "INTERVAL '1 01:01:01.001' DAY(3) TO SECOND(3)"


def test_previous_transaction_is_read_from_a_two_row_frame_not_lag():
    query = feature_query((PrevTx(CARD, "km"),))
    assert "LAG(" not in query
    assert "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW" in query
