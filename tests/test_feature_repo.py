"""feature_repo/ is a Feast repo the `feast` CLI accepts as is, derived from udfs/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from skewless.featurestore.names import feature_view_name
from skewless.featurestore.store import open_store
from udfs.features import ENTITIES, features_of

pytestmark = pytest.mark.integration


def test_feast_cli_accepts_the_repo(settings, feast_applied):
    feast = str(Path(sys.executable).parent / "feast")
    result = subprocess.run([feast, "-c", str(settings.feature_repo), "plan"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "No changes to registry" in result.stdout


def test_feature_views_are_the_declared_features(settings, feast_applied):
    store = open_store(settings)
    for entity in ENTITIES:
        if not features_of(entity):
            continue
        view = store.get_feature_view(feature_view_name(entity))
        assert [f.name for f in view.features] == [f.name for f in features_of(entity)]
        assert view.entities == [entity.name]
