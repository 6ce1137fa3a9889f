from pathlib import Path

import pytest

from skewless.config import load_settings
from skewless.errors import SkewlessError


def test_defaults_run_the_embedded_stack(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092" and s.kafka.embedded
    assert s.data_dir == tmp_path / "data"  # absolute, resolved where skewless started
    assert s.topics.transactions == "transactions" and s.topics.scores == "fraud-scores"


def test_precedence_file_then_env_then_flags(tmp_path):
    cfg = tmp_path / "skewless.yaml"
    cfg.write_text("kafka:\n  bootstrap_servers: file:1\ntopics:\n  partitions: 2\n  scores: from-file\n")
    env = {"SKEWLESS_KAFKA__BOOTSTRAP_SERVERS": "env:2", "SKEWLESS_TOPICS__PARTITIONS": "3"}
    s = load_settings(cfg, {"topics": {"partitions": 8}}, environ=env)
    assert s.kafka.bootstrap_servers == "env:2"
    assert s.topics.partitions == 8
    assert s.topics.scores == "from-file"


def test_bad_values_name_the_field(tmp_path):
    with pytest.raises(SkewlessError, match="topics.partitions"):
        load_settings(overrides={"topics": {"partitions": 0}}, environ={})
    with pytest.raises(SkewlessError, match="kafka.bootsrap"):
        load_settings(overrides={"kafka": {"bootsrap": "x"}}, environ={})
    with pytest.raises(SkewlessError, match="does not exist"):
        load_settings(Path(tmp_path / "nope.yaml"), environ={})
