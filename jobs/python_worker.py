"""Imported inside Flink's Python worker (by `jobs.serving`): quiets its one known-benign shutdown error."""

from __future__ import annotations

import threading

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
