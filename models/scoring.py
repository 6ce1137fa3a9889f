"""Scoring a batch of feature rows with a registered model.

The model's recorded feature list must equal the pipeline's, in order: a model trained
on other features would score garbage without failing, so it is refused instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from models.registry import ModelMeta, Registry
from skewless.errors import SkewlessError
from udfs.features import model_inputs


def input_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The model inputs in their recorded order, float32, missing values as NaN: for training and scoring alike."""
    return frame[list(model_inputs())].to_numpy(dtype=np.float32, na_value=np.nan)


class Scorer:
    """One model version, checked against the pipeline's features; immutable once built."""

    def __init__(self, booster: xgb.Booster, meta: ModelMeta) -> None:
        expected = list(model_inputs())
        if meta.features != expected:
            raise SkewlessError(
                f"model {meta.version} was trained on features {meta.features}, "
                f"but the pipeline computes {expected}: retrain with `skewless train`"
            )
        self.booster, self.meta = booster, meta

    @classmethod
    def from_registry(cls, registry_root: Path, version: str | None = None) -> Scorer:
        return cls(*Registry(registry_root).load(version))

    @property
    def version(self) -> str:
        return self.meta.version

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        """Fraud probability per row; missing values (first transaction, no location) are allowed."""
        return self.booster.inplace_predict(input_matrix(rows))
