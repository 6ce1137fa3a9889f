"""Scoring a batch of feature rows with a registered model.

The model's recorded feature list must equal the pipeline's, in order: a model trained
on other features would score garbage without failing, so it is refused instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.registry import Registry
from skewless.errors import SkewlessError
from udfs.features import model_inputs


class Scorer:
    def __init__(self, registry_root: Path, version: str | None = None) -> None:
        self.booster, self.meta = Registry(registry_root).load(version)
        expected = list(model_inputs())
        if self.meta.features != expected:
            raise SkewlessError(
                f"model {self.meta.version} was trained on features {self.meta.features}, "
                f"but the pipeline computes {expected}: retrain with `skewless train`"
            )
        self.features = expected

    @property
    def version(self) -> str:
        return self.meta.version

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        """Fraud probability per row; missing values (first transaction, no location) are allowed."""
        matrix = rows[self.features].to_numpy(dtype=np.float32, na_value=np.nan)
        return self.booster.inplace_predict(matrix)
