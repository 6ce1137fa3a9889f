import pandas as pd
import pyarrow as pa
import pytest

from skewless.errors import SkewlessError
from skewless.schema import as_frame, in_time_order, normalise_labels, normalise_transactions, read_table
from skewless.validation import typed_columns
from udfs.validation import LABEL_RECORD, TRANSACTION_RECORD


def _frame(**overrides):
    base = {
        "tx_id": ["a", "b"], "cc_num": ["4000000000000001", "4000000000000002"], "merchant_id": ["m1", "m2"],
        "amount": [10.0, 20.5], "lat": [40.0, None], "lon": [-74.0, None],
        "event_time": ["2026-01-01T00:00:01Z", "2026-01-01T00:00:00.5Z"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_any_file_with_the_canonical_columns_is_accepted(tmp_path):
    path = tmp_path / "mine.csv"
    _frame().iloc[:, ::-1].to_csv(path, index=False)  # other column order, no category
    out = normalise_transactions(read_table(path), path)
    assert list(out.rows["tx_id"]) == ["b", "a"]  # sorted by event time
    assert list(out.rows["event_time"]) == [1767225600500, 1767225601000]
    assert out.rows["cc_num"].iloc[0] == "4000000000000002"  # stays a string
    assert out.rejected.empty


def test_ties_in_time_go_by_tx_id_as_python_orders_strings():
    """The order the backfill stages and writes in: upper case before lower, by code point beyond ASCII, stable."""
    frame = pd.DataFrame({
        "tx_id": pd.array(["b", "B", "a\u00ff", "a\u00e9", "\U0001F600", "z", "b"], dtype="string"),
        "event_time": [5, 5, 5, 5, 5, 4, 5], "n": range(7),
    })
    assert list(in_time_order(frame, "event_time")["n"]) == [5, 1, 3, 2, 0, 6, 4]
    assert in_time_order(frame, "event_time").equals(frame.sort_values(["event_time", "tx_id"], kind="stable"))


@pytest.mark.parametrize("times", [
    pd.to_datetime(["2026-01-01 00:00:01", "2026-01-01 00:00:00.500"], format="ISO8601"),  # naive: taken as UTC
    pd.to_datetime(["2026-01-01 01:00:01+01:00", "2026-01-01 00:00:00.500Z"], format="ISO8601", utc=True),
    [1767225601000, 1767225600500],
])
def test_timestamps_in_any_form_become_epoch_ms(times):
    out = normalise_transactions(_frame(event_time=times), "t")
    assert sorted(out.rows["event_time"]) == [1767225600500, 1767225601000]


def test_missing_column_is_named():
    with pytest.raises(SkewlessError, match="lacks column\\(s\\) merchant_id"):
        normalise_transactions(_frame().drop(columns="merchant_id"), "history.csv")


def test_bad_rows_are_set_aside_with_their_rule_not_dropped():
    frame = pd.DataFrame({
        "tx_id": ["ok", "noamount", "dup", "dup", "badtime", "halfloc", "", "refund", "zero"],
        "cc_num": ["c"] * 9, "merchant_id": ["m"] * 9,
        "amount": [1.0, None, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0],
        "lat": [1.0] * 9, "lon": [1.0, 1.0, 1.0, 1.0, 1.0, None, 1.0, 1.0, 1.0],
        "event_time": ["2026-01-01T00:00:00Z"] * 4 + ["not a time"] + ["2026-01-01T00:00:00Z"] * 4,
    })
    out = normalise_transactions(frame, "t")
    assert list(out.rows["tx_id"]) == ["dup", "ok", "zero"]
    rules = dict(zip(out.rejected["tx_id"].fillna(""), out.rejected["reject_rule"], strict=True))
    assert rules == {
        "noamount": "amount.required", "dup": "tx_id.unique", "badtime": "event_time.type",
        "halfloc": "location.pair", "": "tx_id.required", "refund": "amount.range",
    }
    assert len(out.rows) + len(out.rejected) == len(frame)


def test_identifiers_are_stripped_as_python_strips_them_and_non_text_is_a_type_error():
    """Whitespace of every kind Python strips (tab, NBSP, file separator) goes; inner spaces and non-text stay."""
    ids = [" a\t", "\u00a0b\x1c", "c d", "plain", "x"]
    frame = _frame(tx_id=ids, cc_num=["1", "2", "3", "4", b"5"], merchant_id=["m"] * 5, amount=[1.0] * 5,
                   lat=[1.0] * 5, lon=[1.0] * 5, event_time=["2026-01-01T00:00:00Z"] * 5)
    out = normalise_transactions(frame, "t")
    assert list(out.rows["tx_id"]) == ["a", "b", "c d", "plain"]
    assert dict(zip(out.rejected["tx_id"], out.rejected["reject_rule"], strict=True)) == {"x": "cc_num.type"}


T = 1_767_225_600_000  # 2026-01-01


def test_labels_validated_and_set_aside_with_their_rule():
    history = pd.DataFrame({"tx_id": ["a", "b", "c"], "merchant_id": ["m"] * 3, "event_time": [T, T, T + 10]})
    labels = pd.DataFrame({
        "tx_id": ["b", "a", "a", "c", "zz", "b"], "merchant_id": ["m"] * 6,
        "is_fraud": [1, 0, 1, 1, 1, 2], "label_time": [T + 5, T + 5, T + 9, T + 5, T + 5, T + 1],
    })
    out = normalise_labels(labels, "l", history)
    assert out.rows["tx_id"].tolist() == ["a", "b"] and out.rows["is_fraud"].tolist() == [0, 1]
    assert dict(zip(out.rejected.index, out.rejected["reject_rule"], strict=True)) == {
        2: "label.unique", 3: "tx_id.known", 4: "tx_id.known", 5: "is_fraud.range"}


def test_labels_without_merchant_take_it_from_the_history():
    history = pd.DataFrame({"tx_id": ["a"], "merchant_id": ["m7"], "event_time": [T]})
    labels = normalise_labels(pd.DataFrame({"tx_id": ["a"], "is_fraud": [1], "label_time": [T + 5]}), "l", history)
    assert labels.rows["merchant_id"].tolist() == ["m7"]
    unknown = normalise_labels(pd.DataFrame({"tx_id": ["zz"], "is_fraud": [1], "label_time": [T + 5]}), "l", history)
    assert unknown.rejected["reject_rule"].tolist() == ["merchant_id.required"]


ARRIVAL = T + 1_000


def _typed_history() -> pa.Table:
    """A parquet-typed history breaking every field rule, with a duplicate of a rejected row's tx_id."""
    rows = [
        ("ok", "c1", "m1", 10.004, 1.0, 2.0, T, "food"),
        (" ws\t", "c1", "m1", 1.0, None, None, T + 1, None),
        ("\u00a0nb\x1c", "c2", "m2", 0.0, 1.0, 2.0, T + 2, ""),
        (None, "c1", "m1", 1.0, 1.0, 2.0, T, None),
        ("empty-card", "  ", "m1", 1.0, 1.0, 2.0, T, None),
        ("noamount", "c1", "m1", None, 1.0, 2.0, T, None),
        ("nan", "c1", "m1", float("nan"), 1.0, 2.0, T, None),
        ("refund", "c1", "m1", -0.01, 1.0, 2.0, T, None),
        ("huge", "c1", "m1", 1e10, 1.0, 2.0, T, None),
        ("inf", "c1", "m1", float("inf"), 1.0, 2.0, T, None),
        ("northpole+", "c1", "m1", 1.0, 90.5, 2.0, T, None),
        ("halfloc", "c1", "m1", 1.0, 1.0, None, T, None),
        ("seconds", "c1", "m1", 1.0, 1.0, 2.0, 1_767_225_600, None),
        ("future", "c1", "m1", 1.0, 1.0, 2.0, ARRIVAL + 86_400_001, None),
        ("notime", "c1", "m1", 1.0, 1.0, 2.0, None, None),
        ("refund", "c3", "m3", 2.0, 1.0, 2.0, T + 3, None),
        ("ok", "c1", "m1", 5.0, 1.0, 2.0, T + 4, None),
    ]
    names = ["tx_id", "cc_num", "merchant_id", "amount", "lat", "lon", "event_time", "category"]
    types = [pa.string()] * 3 + [pa.float64()] * 3 + [pa.int64(), pa.string()]
    return pa.table([pa.array(column, kind) for column, kind in zip(zip(*rows, strict=True), types, strict=True)], names=names)


def test_a_typed_table_is_checked_by_arrow_with_the_verdicts_of_the_value_by_value_rules():
    table = _typed_history()
    assert typed_columns(table, TRANSACTION_RECORD)
    fast = normalise_transactions(table, "t", arrival_ms=ARRIVAL)
    slow = normalise_transactions(table.to_pandas(), "t", arrival_ms=ARRIVAL)
    rules = fast.rejected["reject_rule"].to_dict()
    assert rules == {
        3: "tx_id.required", 4: "cc_num.required", 5: "amount.required", 6: "amount.required", 7: "amount.range",
        8: "amount.range", 9: "amount.range", 10: "lat.range", 11: "location.pair", 12: "event_time.range",
        13: "event_time.range", 14: "event_time.required", 16: "tx_id.unique",
    }
    assert rules == slow.rejected["reject_rule"].to_dict()
    assert fast.rows["tx_id"].tolist() == ["ok", "ws", "nb", "refund"]
    assert fast.rows["amount"].tolist() == [10.0, 1.0, 0.0, 2.0]  # to whole cents
    pd.testing.assert_frame_equal(fast.rows, slow.rows)


def test_typed_labels_are_checked_by_arrow_with_the_verdicts_of_the_value_by_value_rules():
    history = normalise_transactions(_typed_history(), "t", arrival_ms=ARRIVAL).table
    labels = pa.table({
        "tx_id": ["ok", "ws", "ok", "unknown", "nb", "refund", "ws", None],
        "merchant_id": ["m1", "m1", "m1", "m1", "m2", "m3", "m1", "m1"],
        "is_fraud": pa.array([1, 0, 0, 1, 2, None, 1, 0], pa.int8()),
        "label_time": [T + 10, T + 9, T + 5, T + 10, T + 10, T + 10, T, T + 10],
    })
    assert typed_columns(labels, LABEL_RECORD)
    fast = normalise_labels(labels, "l", history, arrival_ms=ARRIVAL)
    slow = normalise_labels(labels.to_pandas(), "l", as_frame(history), arrival_ms=ARRIVAL)
    rules = fast.rejected["reject_rule"].to_dict()
    assert rules == {
        0: "label.unique", 3: "tx_id.known", 4: "is_fraud.range", 5: "is_fraud.required", 6: "tx_id.known", 7: "tx_id.required",
    }
    assert rules == slow.rejected["reject_rule"].to_dict()
    assert fast.rows[["tx_id", "is_fraud"]].values.tolist() == [["ok", 0], ["ws", 0]]
    pd.testing.assert_frame_equal(fast.rows, slow.rows)
