import pytest

from jobs.feature_spec import engine_spec, output_columns
from udfs.features import CARD, FEATURES, MERCHANT, LabelRate, PrevTx, Ratio, WindowAgg, model_inputs, validate, window_label


def test_names_are_derived_from_the_definition():
    assert WindowAgg(CARD, "amount", "sum", 3600).name == "amount_sum_card_1h"
    assert WindowAgg(MERCHANT, "amount", "count", 600).name == "amount_count_merchant_10min"
    assert WindowAgg(CARD, "amount", "mean", 30 * 86400).name == "amount_mean_card_30d"
    assert PrevTx(CARD, "km").name == "km_since_prev_card"


@pytest.mark.parametrize(("seconds", "label"), [(600, "10min"), (3600, "1h"), (86400, "1d"), (7 * 86400, "7d"), (90, "90s")])
def test_window_labels(seconds, label):
    assert window_label(seconds) == label


def test_invalid_declarations_are_refused():
    with pytest.raises(ValueError, match="window_s must be positive"):
        WindowAgg(CARD, "amount", "sum", 0)
    with pytest.raises(ValueError, match="unknown aggregation"):
        WindowAgg(CARD, "amount", "median", 60)
    with pytest.raises(ValueError, match="declared twice: amount_sum_card_1h"):
        validate((WindowAgg(CARD, "amount", "sum", 3600), WindowAgg(CARD, "amount", "sum", 3600)))


def test_engine_output_has_every_declared_feature_in_order():
    assert output_columns()[5:] == tuple(f.name for f in FEATURES)
    assert model_inputs() == ("amount", *(f.name for f in FEATURES))


def test_spec_has_one_stage_per_entity_and_one_line_per_feature():
    spec = engine_spec()
    stages = spec.split("\n--\n")
    assert [s.splitlines()[0] for s in stages] == ["key 2", "key 3"]  # cc_num, merchant_id in ENGINE_COLUMNS
    positions = sorted(int(line.split()[1]) for s in stages for line in s.splitlines()[1:])
    assert positions == list(range(len(FEATURES)))


def test_a_new_window_is_one_more_line_in_its_entity_stage():
    base = (WindowAgg(CARD, "amount", "sum", 3600), WindowAgg(MERCHANT, "amount", "count", 3600))
    more = (*base, WindowAgg(CARD, "amount", "mean", 3 * 86400))
    assert engine_spec(more) == engine_spec(base).replace("--", "window 2 mean 259200000\n--")


def test_label_rates_keep_their_window_in_milliseconds_and_ratios_come_last():
    ratio_over = WindowAgg(CARD, "amount", "mean", 86400)
    spec = engine_spec((Ratio("amount", ratio_over), ratio_over, LabelRate(MERCHANT, 7 * 86400)))
    assert spec == "key 2\nwindow 1 mean 86400000\nratio 0 1\n--\nkey 3\nrate 2 604800000"


def test_the_engine_refuses_columns_it_does_not_carry():
    with pytest.raises(ValueError, match="aggregates 'amount' only, not 'lat'"):
        engine_spec((WindowAgg(CARD, "lat", "max", 3600),))
