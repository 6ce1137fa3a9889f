"""Shared fixtures: one embedded broker and one data directory for the whole session.

Integration tests are marked `integration`; they use a real broker over a real socket,
real Flink jobs (local mini-cluster) and a real Feast repo (a copy of feature_repo/).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from jobs.flink_env import free_port
from models.registry import Registry
from models.updates import ensure_update_key
from skewless.config import Settings, load_settings
from skewless.messaging.broker import EmbeddedBroker
from udfs.features import model_inputs

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """A project-like folder: feature_repo/ beside data/, as in a clone."""
    root = tmp_path_factory.mktemp("skewless")
    shutil.copytree(REPO_ROOT / "feature_repo", root / "feature_repo", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="session")
def settings(workspace: Path) -> Settings:
    return load_settings(environ={}, overrides={
        "data_dir": workspace / "data", "feature_repo": workspace / "feature_repo",
        "kafka": {"bootstrap_servers": f"127.0.0.1:{free_port()}", "consumer_group": "skewless-test"},
    })


@pytest.fixture(scope="session")
def broker(settings: Settings):
    """The embedded broker, and the model-update key `skewless up` creates beside it."""
    broker = EmbeddedBroker(settings)
    broker.start()
    ensure_update_key(settings)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def feast_applied(settings: Settings) -> Settings:
    from skewless.featurestore.store import apply_definitions

    apply_definitions(settings)
    return settings


STREAM_TOPICS = ("transactions", "labels", "scores", "dead_letters", "label_dead_letters", "late_transactions", "late_labels",
                 "drift")
"""Every topic a stream job reads or writes, but `model-updates`."""


def with_own_topics(settings: Settings, prefix: str) -> Settings:
    """The stream job's topics renamed `<prefix>-<topic>`: tests that read whole topics never see another test's records."""
    renamed = {name: f"{prefix}-{getattr(settings.topics, name)}" for name in STREAM_TOPICS}
    return settings.model_copy(update={"topics": settings.topics.model_copy(update=renamed)})


def other_model(registry: Registry) -> str:
    """A second version with the pipeline's features (trained on noise: its scores differ), not promoted."""
    names = list(model_inputs())
    x = np.random.default_rng(1).normal(size=(500, len(names)))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, label=x[:, 0] > 0, feature_names=names), 5)
    return registry.save(booster, names, {"rows": 500}, {}, promote=False).version


HISTORY_END = "2026-11-01"
HISTORY_END_MS = 1_793_491_200_000
"""The generated history ends here, whatever today's date: no test depends on the calendar."""


@pytest.fixture(scope="session")
def trained_model(settings: Settings, broker, feast_applied) -> Settings:
    """generate -> backfill -> train through the real CLI, once per session."""
    from tests.cli_helpers import invoke

    invoke(settings, "generate", "--cards", "300", "--merchants", "80", "--days", "10", "--end", HISTORY_END)
    assert "set aside          0" in invoke(settings, "backfill")
    assert "version" in invoke(settings, "train")
    return settings
