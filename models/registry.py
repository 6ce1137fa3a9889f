"""Model versions on disk: XGBoost's own UBJ format plus metadata, verified by checksum.

Never pickle: a pickle is a memory snapshot tied to library versions, and loading one
runs code. A version directory is written under a temporary name and renamed into
place, so a reader never sees half a model. Writers (a trainer, the learner, a
`promote`) take the registry's lock, so concurrent saves get distinct versions and
`CURRENT` always names a complete one; a temporary directory left by a writer that
crashed is removed by the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xgboost as xgb

from skewless.errors import SkewlessError

MODEL_FILE = "model.ubj"
META_FILE = "meta.json"
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
GATE_LOG = "gate.jsonl"
VERSION = re.compile(r"v\d+")


def checked_version(version: str) -> str:
    """A version name as the registry writes them (`v<number>`): nothing else becomes a path."""
    if not VERSION.fullmatch(version):
        raise SkewlessError(f"'{version}' is not a model version (v1, v2, ...); see `skewless models list`")
    return version


@dataclass(frozen=True)
class ModelMeta:
    version: str
    features: list[str]
    sha256: str
    created_at: str
    parent: str | None = None
    features_hash: str = ""
    """sha256 of the ordered feature list: equal hashes, same inputs in the same order."""
    xgboost_version: str = xgb.__version__
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    """The decision rule chosen at training (`models.policy.DecisionRule`): policy name and threshold."""
    reference: dict[str, Any] = field(default_factory=dict)
    """Per drift column and the score: bin edges and each bin's share per hour of the day (`models.drift`)."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256(path: Path) -> str:
    return sha256_of(path.read_bytes())


def features_hash(features: list[str]) -> str:
    return sha256_of(json.dumps(features).encode())


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        found = [p.name for p in self.root.iterdir() if VERSION.fullmatch(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def current(self) -> str | None:
        pointer = self.root / CURRENT_FILE
        return pointer.read_text().strip() if pointer.exists() else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across processes; what a crashed writer left behind goes first."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                for stale in self.root.glob(".*.tmp"):
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self, booster: xgb.Booster, features: list[str], training: dict[str, Any],
             metrics: dict[str, float], promote: bool = True, decision: dict[str, Any] | None = None,
             reference: dict[str, Any] | None = None) -> ModelMeta:
        with self._locked():
            meta = self._save(booster, features, training, metrics, decision or {}, reference or {})
            if promote:
                self._promote(meta.version)
        return meta

    def _save(self, booster: xgb.Booster, features: list[str], training: dict[str, Any], metrics: dict[str, float],
              decision: dict[str, Any], reference: dict[str, Any]) -> ModelMeta:
        existing = self.versions()
        version = f"v{int(existing[-1][1:]) + 1 if existing else 1}"
        tmp = self.root / f".{version}.tmp"
        tmp.mkdir()
        booster.save_model(tmp / MODEL_FILE)
        meta = ModelMeta(
            version=version, features=features, sha256=_sha256(tmp / MODEL_FILE),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"), parent=self.current(),
            features_hash=features_hash(features),
            training=training, metrics=metrics, decision=decision, reference=reference,
        )
        (tmp / META_FILE).write_text(json.dumps(asdict(meta), indent=2))
        os.replace(tmp, self.root / version)
        return meta

    def promote(self, version: str) -> None:
        with self._locked():
            self._promote(version)

    def _promote(self, version: str) -> None:
        if checked_version(version) not in self.versions():
            raise SkewlessError(f"no model version {version} in {self.root}; see `skewless models list`")
        tmp = self.root / f".{CURRENT_FILE}.tmp"
        tmp.write_text(version)
        os.replace(tmp, self.root / CURRENT_FILE)

    def record_gate(self, decision: dict[str, Any]) -> None:
        """One line per gate decision of `skewless learn`, promoted or not: what `status` shows as the last."""
        with self._locked():
            with (self.root / GATE_LOG).open("a") as log:
                log.write(json.dumps(decision, default=str) + "\n")

    def last_gate(self) -> dict[str, Any] | None:
        path = self.root / GATE_LOG
        if not path.exists():
            return None
        lines = path.read_text().splitlines()
        return json.loads(lines[-1]) if lines else None

    def meta(self, version: str) -> ModelMeta:
        path = self.root / checked_version(version) / META_FILE
        if not path.exists():
            raise SkewlessError(f"no model version {version} in {self.root}; see `skewless models list`")
        try:
            return ModelMeta(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise SkewlessError(f"{path} is not a model's metadata ({exc}): restore it or remove version {version}") from exc

    def load(self, version: str | None = None) -> tuple[xgb.Booster, ModelMeta]:
        """The given (default: current) version, after checking its checksum."""
        version = version or self.current()
        if version is None:
            raise SkewlessError(f"no model in {self.root}: run `skewless train` first")
        meta = self.meta(version)
        model_path = self.root / version / MODEL_FILE
        if _sha256(model_path) != meta.sha256:
            raise SkewlessError(f"model {version} at {model_path} does not match its checksum: refusing to load it")
        booster = xgb.Booster()
        booster.load_model(model_path)
        return booster, meta
