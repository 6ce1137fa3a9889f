"""Flink's REST API (what `flink list`, `flink cancel` and `flink savepoint` call), with the standard library."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from skewless.errors import SkewlessError


class FlinkRest:
    def __init__(self, address: str) -> None:
        self.base = f"http://{address}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise SkewlessError(f"Flink at {self.base} refused {method} {path}: {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SkewlessError(f"no Flink cluster answers at {self.base} ({exc}): start one with `skewless cluster start`") from None
        return json.loads(payload) if payload else {}

    def reachable(self) -> bool:
        try:
            self._call("GET", "/overview")
            return True
        except SkewlessError:
            return False

    def overview(self) -> dict[str, Any]:
        return self._call("GET", "/overview")

    def jobs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/jobs/overview")["jobs"]

    def job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> None:
        self._call("PATCH", f"/jobs/{job_id}?mode=cancel")

    def savepoint(self, job_id: str, directory: str, stop: bool, timeout_s: float = 120.0) -> str:
        """Trigger a savepoint (and stop the job after it, if `stop`); return its path once complete."""
        if stop:
            trigger = self._call("POST", f"/jobs/{job_id}/stop", {"targetDirectory": directory, "drain": False})
        else:
            trigger = self._call("POST", f"/jobs/{job_id}/savepoints", {"target-directory": directory, "cancel-job": False})
        request_id = trigger["request-id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self._call("GET", f"/jobs/{job_id}/savepoints/{request_id}")
            if status["status"]["id"] == "COMPLETED":
                operation = status.get("operation", {})
                if "failure-cause" in operation:
                    cause = operation["failure-cause"].get("stack-trace", "").splitlines()[:1]
                    raise SkewlessError(f"savepoint of job {job_id} failed: {cause}")
                return operation["location"]
            time.sleep(0.5)
        raise SkewlessError(f"savepoint of job {job_id} did not complete in {timeout_s:.0f}s")

    def job_metrics(self, job_id: str, names: list[str]) -> dict[str, str]:
        return {m["id"]: m["value"] for m in self._call("GET", f"/jobs/{job_id}/metrics?get={','.join(names)}")}

    def vertex_metric_ids(self, job_id: str, vertex_id: str) -> list[str]:
        return [m["id"] for m in self._call("GET", f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics")]

    def vertex_metrics(self, job_id: str, vertex_id: str, ids: list[str]) -> dict[str, dict[str, float]]:
        """Each metric's sum and max over the vertex's subtasks."""
        query = urllib.parse.urlencode({"get": ",".join(ids), "agg": "sum,max"})
        rows = self._call("GET", f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics?{query}")
        return {m["id"]: {"sum": float(m.get("sum", 0)), "max": float(m.get("max", 0))} for m in rows}
