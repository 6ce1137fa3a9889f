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


def test_redis_online_store_replaces_the_repos_sqlite_store_and_keeps_the_registry(tmp_path):
    import shutil

    from skewless.featurestore.store import _repo_config

    repo = tmp_path / "feature_repo"
    shutil.copytree(Path(__file__).resolve().parent.parent / "feature_repo", repo)
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "data", "feature_repo": repo,
                                                    "online_store": {"type": "redis", "redis": "10.0.0.5:6380"}})
    config = _repo_config(settings, repo)
    assert config.online_store.type == "redis" and config.online_store.connection_string == "10.0.0.5:6380"
    assert config.online_store.skip_dedup, "last write wins, as in sqlite: skewless orders the writes"
    assert config.registry.path == "../data/feast/registry.db"
    assert _repo_config(load_settings(environ={}, overrides={"feature_repo": repo}), repo).online_store.type == "sqlite"
