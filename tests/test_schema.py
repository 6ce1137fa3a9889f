import pandas as pd
import pytest

from skewless.errors import SkewlessError
from skewless.schema import normalise_labels, normalise_transactions, read_table


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


def test_bad_rows_are_set_aside_with_their_reason_not_dropped():
    frame = pd.DataFrame({
        "tx_id": ["ok", "noamount", "dup", "dup", "badtime", "halfloc", ""],
        "cc_num": ["c"] * 7, "merchant_id": ["m"] * 7,
        "amount": [1.0, None, 2.0, 3.0, 4.0, 5.0, 6.0],
        "lat": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], "lon": [1.0, 1.0, 1.0, 1.0, 1.0, None, 1.0],
        "event_time": ["2026-01-01T00:00:00Z"] * 4 + ["not a time", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
    })
    out = normalise_transactions(frame, "t")
    assert list(out.rows["tx_id"]) == ["dup", "ok"]
    reasons = dict(zip(out.rejected["tx_id"].fillna(""), out.rejected["reject_reason"], strict=True))
    assert reasons == {
        "noamount": "amount is not a number", "dup": "duplicate tx_id", "badtime": "event_time is not a timestamp",
        "halfloc": "only one of lat/lon is set", "": "tx_id is empty",
    }
    assert len(out.rows) + len(out.rejected) == len(frame)


def test_labels_validated():
    good = normalise_labels(pd.DataFrame({"tx_id": ["b", "a"], "merchant_id": ["m", "m"], "is_fraud": [1, 0], "label_time": [5, 5]}), "l")
    assert good["tx_id"].tolist() == ["a", "b"] and good["is_fraud"].tolist() == [0, 1]
    with pytest.raises(SkewlessError, match="is_fraud 0/1"):
        normalise_labels(pd.DataFrame({"tx_id": ["a"], "merchant_id": ["m"], "is_fraud": [2], "label_time": [5]}), "l")


def test_labels_without_merchant_take_it_from_the_history():
    history = pd.DataFrame({"tx_id": ["a"], "merchant_id": ["m7"]})
    labels = normalise_labels(pd.DataFrame({"tx_id": ["a"], "is_fraud": [1], "label_time": [5]}), "l", history)
    assert labels["merchant_id"].tolist() == ["m7"]
    with pytest.raises(SkewlessError, match="lacks label column"):
        normalise_labels(pd.DataFrame({"tx_id": ["a"], "is_fraud": [1], "label_time": [5]}), "l")
    with pytest.raises(SkewlessError, match="merchant_id set or its tx_id in the history"):
        normalise_labels(pd.DataFrame({"tx_id": ["zz"], "is_fraud": [1], "label_time": [5]}), "l", history)
