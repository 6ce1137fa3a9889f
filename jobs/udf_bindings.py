"""Thin Flink wrappers around the plain functions of `udfs`: the math lives there."""

from __future__ import annotations

import pandas as pd
from pyflink.table import DataTypes, TableEnvironment
from pyflink.table.udf import udf

from jobs.feature_sql import HAVERSINE_FUNCTION
from udfs.geo import haversine_km


@udf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def haversine_km_udf(lat1: pd.Series, lon1: pd.Series, lat2: pd.Series, lon2: pd.Series) -> pd.Series:
    return pd.Series(haversine_km(lat1, lon1, lat2, lon2))


def register_udfs(t_env: TableEnvironment) -> None:
    t_env.create_temporary_function(HAVERSINE_FUNCTION, haversine_km_udf)
