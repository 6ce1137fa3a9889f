"""The real `skewless` executable: bad input is one line on stderr, never a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from udfs.features import FEATURES

SKEWLESS = str(Path(sys.executable).parent / "skewless")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # A user's shell: none of our settings, and none of what an in-process Flink job leaves behind.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKEWLESS_", "PYFLINK_"))}
    return subprocess.run([SKEWLESS, "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (("backfill", "missing.parquet"), "missing.parquet does not exist"),
    (("backfill", "history.txt"), "unknown file type '.txt'"),
    (("-D", "no-equals-sign", "status"), "-D expects key=value, got 'no-equals-sign'"),
    (("train",), "run `skewless backfill` first"),
    (("produce",), "run `skewless generate` first"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    (tmp_path / "history.txt").write_text("x")
    result = _run(tmp_path, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unexpected_failure_is_one_line_and_vv_anywhere_adds_the_trace(tmp_path):
    (tmp_path / "data" / "models" / "v1").mkdir(parents=True)
    (tmp_path / "data" / "models" / "v1" / "model.ubj").write_bytes(b"x")
    (tmp_path / "data" / "models" / "CURRENT").write_text("v1")
    result = _run(tmp_path, "models", "show")  # no meta.json: the registry names what is missing
    assert result.returncode == 1 and "no model version v1" in result.stderr
    (tmp_path / "data" / "models" / "v1" / "meta.json").write_text("{")
    result = _run(tmp_path, "models", "show")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "meta.json is not a model's metadata" in result.stderr and "Traceback" not in result.stderr
    detailed = _run(tmp_path, "models", "show", "-vv")
    assert "Traceback" in detailed.stderr and detailed.stderr.strip().splitlines()[-1] == result.stderr.strip()


def test_history_missing_a_column_names_it(tmp_path):
    (tmp_path / "h.csv").write_text("tx_id,cc_num,amount,lat,lon,event_time\n1,2,3.0,,,2026-01-01T00:00:00Z\n")
    result = _run(tmp_path, "backfill", "h.csv")
    assert result.returncode == 1
    assert "lacks column(s) merchant_id" in result.stderr


def test_help_lists_the_commands(tmp_path):
    result = _run(tmp_path, "--help")
    assert result.returncode == 0
    for verb in ("up", "down", "status", "generate", "produce", "backfill", "dataset", "train", "stream", "parity", "demo",
                 "models", "scores"):
        assert f"  {verb} " in result.stdout


def test_features_spec_prints_what_the_engine_runs(tmp_path):
    """A feature name can be grepped from the declaration to the engine line it compiles to."""
    result = _run(tmp_path, "features", "--spec")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    rate = [f.name for f in FEATURES].index("fraud_rate_merchant_7d")  # its output slot: its place in the declarations
    assert lines[0] == "key 2" and "--" in lines and f"rate {rate} 604800000" in lines
