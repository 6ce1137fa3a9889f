"""The feature engine's jar, compiled from `jobs/engine/src` on first use.

The jar is cached under the user's cache folder by a hash of its sources, so an edited
source is recompiled and a stale jar is never used. Compiling needs a JDK (`javac`);
running needs only the JRE Flink already uses. `make install` builds it up front.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from skewless.errors import SkewlessError
from skewless.flink.connectors import flink_home, jar_cache_dir, kafka_connector_jars

SOURCES = Path(__file__).resolve().parent / "engine" / "src"
JAVA_RELEASE = "11"


def _sources() -> list[Path]:
    return sorted(SOURCES.rglob("*.java"))


def _digest(sources: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sources:
        h.update(path.relative_to(SOURCES).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _classpath() -> str:
    """Flink's own jars, flink-python's (Arrow, shaded: `ArrowFiles`) and the Kafka connector's: the engine
    reads the topics itself (`KafkaInput`)."""
    python_jar = sorted((flink_home() / "opt").glob("flink-python-*.jar"))
    return ":".join([f"{flink_home().resolve() / 'lib'}/*", *map(str, python_jar), *map(str, kafka_connector_jars())])


def engine_jar() -> Path:
    """The jar for the current sources: cached, or compiled now (a few seconds)."""
    sources = _sources()
    jar = jar_cache_dir() / f"skewless-engine-{_digest(sources)}.jar"
    if jar.exists():
        return jar
    javac, jar_tool = shutil.which("javac"), shutil.which("jar")
    if javac is None or jar_tool is None:
        raise SkewlessError(
            "javac not found: the feature engine is compiled on first use and needs a JDK 11 or 17 "
            "(e.g. `apt-get install openjdk-17-jdk-headless`), not only a JRE"
        )
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as classes:
        compiled = subprocess.run(
            [javac, "--release", JAVA_RELEASE, "-nowarn", "-cp", _classpath(), "-d", classes, *map(str, sources)],
            capture_output=True, text=True, check=False,
        )
        if compiled.returncode != 0:
            raise SkewlessError(f"compiling the feature engine failed:\n{compiled.stderr.strip()}")
        partial = jar.with_suffix(".jar.part")
        subprocess.run([jar_tool, "cf", str(partial), "-C", classes, "."], check=True, capture_output=True)
        partial.replace(jar)
    return jar
