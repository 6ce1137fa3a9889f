"""What Flink's REST API says about a job: which of its operators are still running.

The local mini-cluster binds the first free port of `flink.rest_ports`; a job is found
by its id on whichever port it answers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from skewless.config import Settings


def _ports(spec: str) -> range:
    first, _, last = spec.partition("-")
    return range(int(first), int(last or first) + 1)


def vertex_states(settings: Settings, job_id: str) -> dict[str, str]:
    """Operator chain name -> status (RUNNING, FINISHED, ...); empty if no port knows the job."""
    for port in _ports(settings.flink.rest_ports):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/jobs/{job_id}", timeout=2) as response:
                return {v["name"]: v["status"] for v in json.loads(response.read())["vertices"]}
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            continue
    return {}
