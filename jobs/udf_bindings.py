"""Thin Flink wrappers around the plain functions of `udfs`: the math lives there.

This module is imported inside Flink's Python worker, so it also quiets the worker's
one known-benign shutdown error (see `_quiet_worker_shutdown`).
"""

from __future__ import annotations

import threading

import pandas as pd
from pyflink.table import DataTypes, TableEnvironment
from pyflink.table.udf import udf

from jobs.feature_sql import HAVERSINE_FUNCTION
from udfs.geo import haversine_km


@udf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def haversine_km_udf(lat1: pd.Series, lon1: pd.Series, lat2: pd.Series, lon2: pd.Series) -> pd.Series:
    return pd.Series(haversine_km(lat1, lon1, lat2, lon2))


_default_excepthook = threading.excepthook


def _quiet_worker_shutdown(args: threading.ExceptHookArgs) -> None:
    """When a bounded job ends, Beam's input-reader thread dies on the closed gRPC channel
    ("Multiplexer hanging up") and prints a traceback although nothing failed. Drop
    exactly that; every other thread error is reported as usual."""
    benign = (args.thread is not None and args.thread.name == "read_grpc_client_inputs"
              and "Multiplexer hanging up" in str(args.exc_value))
    if not benign:
        _default_excepthook(args)


threading.excepthook = _quiet_worker_shutdown


def register_udfs(t_env: TableEnvironment) -> None:
    t_env.create_temporary_function(HAVERSINE_FUNCTION, haversine_km_udf)
