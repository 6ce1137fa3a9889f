"""Checks that turn a missing Java or a wrong Python into one actionable line.

PyFlink otherwise fails deep inside py4j with a gateway stack trace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from skewless.errors import SkewlessError

SUPPORTED_PYTHON = (3, 11)
MIN_JAVA = 11


def check_python(version: tuple[int, int] = sys.version_info[:2]) -> None:
    if tuple(version) != SUPPORTED_PYTHON:
        raise SkewlessError(
            f"skewless needs Python {SUPPORTED_PYTHON[0]}.{SUPPORTED_PYTHON[1]} "
            f"(found {version[0]}.{version[1]}): install python3.11 and re-run `make demo`"
        )


def java_executable() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def parse_java_major(version_output: str) -> int | None:
    """Major version from `java -version` output ("17.0.15" -> 17, "1.8.0_392" -> 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def check_java() -> None:
    java = java_executable()
    if java is None:
        raise SkewlessError(
            "Java not found: install a JDK 11 or 17 (e.g. `apt-get install openjdk-17-jdk-headless`) "
            "and put `java` on PATH or set JAVA_HOME"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    major = parse_java_major(out.stderr + out.stdout)
    if major is None or major < MIN_JAVA:
        raise SkewlessError(
            f"Java at {java} is version {major or 'unknown'}; Flink needs JDK {MIN_JAVA} or 17"
        )
