"""What `skewless submit` hands to `flink run`, and the settings it freezes for the job (no cluster needed)."""

import importlib.metadata
from pathlib import Path

import yaml

from jobs.submit import PROJECT_ROOT, SHIPPED_PACKAGES, flink_run_command, freeze_settings
from skewless.config import load_settings


def _settings(tmp_path: Path):
    return load_settings(environ={}, overrides={"data_dir": tmp_path / "data", "flink": {"parallelism": 2},
                                                "topics": {"scores": "scores-x"}})


def test_stream_is_detached_backfill_waits_and_a_savepoint_is_restored(tmp_path):
    s = _settings(tmp_path)
    stream = flink_run_command(s, "stream", "jm:8081", "file:/sp/savepoint-1", [])
    assert stream[1:5] == ["run", "-m", "jm:8081", "-p"] and stream[5] == "2"
    assert "-d" in stream and stream[stream.index("-s") + 1] == "file:/sp/savepoint-1"
    script = Path(stream[stream.index("-py") + 1])
    assert script.name == "entrypoint.py" and script.exists() and stream[-1] == "stream"
    shipped = stream[stream.index("-pyfs") + 1].split(",")
    assert [Path(p).name for p in shipped] == list(SHIPPED_PACKAGES) and all(Path(p).is_dir() for p in shipped)
    backfill = flink_run_command(s, "backfill", "jm:8081", None, ["/h.parquet", ""])
    assert "-d" not in backfill and "-s" not in backfill and backfill[-3:] == ["backfill", "/h.parquet", ""]


def test_the_job_reads_exactly_the_submitted_settings(tmp_path):
    s = _settings(tmp_path)
    frozen = freeze_settings(s)
    assert yaml.safe_load(frozen.read_text())["topics"]["scores"] == "scores-x"
    assert load_settings(frozen, environ={}) == s


def test_no_shipped_module_shadows_an_installed_library():
    """Flink puts each shipped folder itself on the workers' path: a child named like a library (`kafka`, `feast`) would shadow it."""
    installed = set(importlib.metadata.packages_distributions())
    children = {path.stem for package in SHIPPED_PACKAGES for path in (PROJECT_ROOT / package).iterdir()
                if path.suffix == ".py" or (path / "__init__.py").exists()}
    assert "kafka" in installed and "feast" in installed
    assert children & installed == set()
