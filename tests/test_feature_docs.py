"""Every derived feature name can be found: docs/features.md is current, and `skewless features --explain` says where a name comes from."""

from __future__ import annotations

import pytest

from jobs.feature_docs import FEATURES_DOC, features_markdown, record_parity
from skewless.config import load_settings
from skewless.errors import SkewlessError
from tests.cli_helpers import invoke
from udfs.features import FEATURES


def test_docs_features_md_is_current():
    assert FEATURES_DOC.read_text() == features_markdown(), "stale: run `skewless features --markdown > docs/features.md`"
    for feature in FEATURES:
        assert f"| `{feature.name}` |" in FEATURES_DOC.read_text()


def test_explain_names_the_declaration_both_jobs_and_the_feast_views(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path})
    out = invoke(settings, "features", "--explain", "amount_sum_card_1h")
    assert "WindowAgg(entity=card, column='amount', how='sum', window_s=3600)" in out
    assert "`window 8 sum 3600000`" in out and "the same engine, stage and line" in out
    assert "card_features:amount_sum_card_1h" in out and "served_features:amount_sum_card_1h" in out
    assert "not checked: no `skewless parity` run recorded" in out
    record_parity(settings, 1_000, ["amount_sum_card_1h", "amount_sum_card_1h", "hour_of_day"])
    assert "2 differences over 1000 transactions" in invoke(settings, "features", "--explain", "amount_sum_card_1h")
    assert "0 differences over 1000 transactions" in invoke(settings, "features", "--explain", "is_night")


def test_explain_refuses_an_unknown_name(tmp_path):
    with pytest.raises(SkewlessError, match="no feature named 'amount_sum_card_2h'"):
        invoke(load_settings(environ={}, overrides={"data_dir": tmp_path}), "features", "--explain", "amount_sum_card_2h")
