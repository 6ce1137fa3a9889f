"""The Feast repo: its config with skewless's online store, apply, open, the offline table, online reads.

Feast owns where its stores live: `feature_repo/feature_store.yaml` and the sources in
`feature_repo/definitions.py` name them relative to the repo. skewless checks that
they are inside its data directory and says what to edit when they are not.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.featurestore.names import OFFLINE_FEATURES_FILE, OFFLINE_FROM_REPO, SERVED_FEATURES_DIR, TIMESTAMP_FIELD, feature_view_name
from udfs.features import Entity, features_of

log = logging.getLogger(__name__)


def offline_features_path(settings: Settings) -> Path:
    return settings.offline_dir / OFFLINE_FEATURES_FILE


def served_features_dir(settings: Settings) -> Path:
    return settings.offline_dir / SERVED_FEATURES_DIR


def _repo_config(settings: Settings, repo: Path):  # -> feast.RepoConfig
    """The repo's feature_store.yaml, with the online store the settings choose."""
    import yaml
    from feast.repo_config import RepoConfig

    raw = yaml.safe_load(os.path.expandvars((repo / "feature_store.yaml").read_text()))
    if settings.online_store.type == "redis":
        # skip_dedup: the last write wins, as in sqlite. Feast's Redis store would otherwise drop a
        # second transaction of the same millisecond; skewless writes in (event_time, tx_id) order.
        raw["online_store"] = {"type": "redis", "connection_string": settings.online_store.redis_connection(), "skip_dedup": True}
    config = RepoConfig(**raw)
    config.repo_path = repo
    return config


def _check_local_paths(settings: Settings, repo: Path, config) -> None:
    """A sqlite online store or file registry must live in skewless's data directory.

    Otherwise skewless would write features where `FeatureStore("feature_repo")` does
    not look; better to say so than to serve from a store nobody fills.
    """
    data_dir = settings.data_dir.resolve()
    paths = {"registry": config.registry.path}
    if config.online_store.type == "sqlite":
        paths["online_store.path"] = config.online_store.path
    for key, value in paths.items():
        resolved = (repo / value).resolve()
        if not resolved.is_relative_to(data_dir):
            raise SkewlessError(
                f"{repo / 'feature_store.yaml'}: {key} is {resolved}, outside skewless's data_dir {data_dir}; "
                "make them agree (edit the yaml, or set data_dir / SKEWLESS_DATA_DIR)"
            )
    sources = (repo / OFFLINE_FROM_REPO).resolve()
    if sources != settings.offline_dir.resolve():
        raise SkewlessError(
            f"{repo / 'definitions.py'}: the offline sources are in {sources}, not skewless's {settings.offline_dir.resolve()}; "
            f"keep the Feast repo beside the data directory ({OFFLINE_FROM_REPO} from it), or set data_dir / feature_repo to such a pair"
        )


def _point_definitions_at(settings: Settings):  # -> (Path, feast.RepoConfig)
    repo = settings.feature_repo.resolve()
    if not (repo / "feature_store.yaml").exists():
        raise SkewlessError(f"no feature_store.yaml in {repo}: set feature_repo to the Feast repo folder")
    config = _repo_config(settings, repo)
    _check_local_paths(settings, repo, config)
    return repo, config


def open_store(settings: Settings):  # -> feast.FeatureStore (imported lazily: ~7 s)
    from feast import FeatureStore

    repo, config = _point_definitions_at(settings)
    return FeatureStore(repo_path=str(repo), config=config)


def apply_definitions(settings: Settings) -> None:
    """What `feast apply` does, in-process; idempotent."""
    from feast.repo_operations import apply_total

    repo, config = _point_definitions_at(settings)
    (settings.data_dir / "feast").mkdir(parents=True, exist_ok=True)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    apply_total(config, repo, skip_source_validation=True)


def with_event_timestamp(features: pd.DataFrame) -> pd.DataFrame:
    """Feast wants a timezone-aware timestamp column beside our epoch milliseconds."""
    return features.assign(**{TIMESTAMP_FIELD: pd.to_datetime(features["event_time"], unit="ms", utc=True)})


def write_offline(settings: Settings, features: pa.Table) -> Path:
    """The backfill's rows as Feast's offline parquet, with `with_event_timestamp`'s column made by pyarrow.

    Read back, the file is the frame `with_event_timestamp` gives (`tests/test_offline_file.py`);
    written from arrow it skips the million rows' trip through pandas.
    """
    path = offline_features_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.part")
    stamps = features["event_time"].cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ns", tz="UTC"))
    pq.write_table(features.append_column(TIMESTAMP_FIELD, stamps), tmp)
    os.replace(tmp, path)
    return path


def read_online(settings: Settings, entity: Entity, keys: list[str]) -> pd.DataFrame:
    """Every feature of `entity` from the online store, one row per key, as Feast serves it."""
    view = feature_view_name(entity)
    return open_store(settings).get_online_features(
        features=[f"{view}:{f.name}" for f in features_of(entity)], entity_rows=[{entity.key: k} for k in keys],
    ).to_df()
