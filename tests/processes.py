"""Starting skewless as a user would, in a process of its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SKEWLESS = str(Path(sys.executable).parent / "skewless")


def user_shell_env() -> dict[str, str]:
    """A user's shell: what finds programs and Java, none of what earlier in-process jobs and clusters left behind
    (PyFlink's gateway variables would make a child think it is a UDF worker; the settings of this test process)."""
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME") if os.environ.get(k)}
