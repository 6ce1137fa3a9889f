"""Where a benchmark's CPU went: the machine's, and each part of the pipeline's, over a span of wall time.

A drain's tx/s alone does not say whether it was limited by the cores or by waiting: on a
2-core machine a job that already keeps both cores busy at -p 1 cannot drain faster at
-p 2, and a baseline on one core is compared per core by CPU per transaction. A process of
its own samples the machine's CPU times and every process's every `interval_s`; `span`
reads them between two wall-clock times (a drain's first and last score).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROLES = ("JVM", "Python workers", "broker", "load generator", "benchmark process", "other")
"""Every process falls in one: Flink's JVM (mini-cluster, Kafka clients, the feature engine), the
Python processes PyFlink starts for the scoring step, the embedded broker (Tansu), the producer
process of the latency run (`bench.producer_process`), the process running the benchmark (for
the plain-Python baseline, the consumer itself), and the rest."""


def _role(process: psutil.Process, own_pid: int) -> str:
    if process.pid == own_pid:
        return "benchmark process"
    name = process.name()
    if name.startswith("java"):
        return "JVM"
    if name.startswith("tansu"):
        return "broker"
    if name.startswith("python"):
        command = " ".join(process.cmdline())
        if "bench.producer_process" in command:
            return "load generator"
        if "pyflink" in command:
            return "Python workers"
    return "other"


@dataclass(frozen=True)
class _Sample:
    at: float
    machine_busy_s: float
    by_role_s: dict[str, float]


def _by_role(own_pid: int, seen: dict[int, tuple[str, float]]) -> dict[str, float]:
    """Cumulative CPU seconds per role; a process that ended keeps what it was last seen to use."""
    for process in psutil.process_iter():
        try:
            with process.oneshot():
                used = process.cpu_times()
                role = seen[process.pid][0] if process.pid in seen else _role(process, own_pid)
                seen[process.pid] = (role, used.user + used.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    totals = dict.fromkeys(ROLES, 0.0)
    for role, seconds in seen.values():
        totals[role] += seconds
    return totals


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class CpuSampler:
    """Samples while its `with` block runs; `span(t0, t1)` gives cores busy on average between two `time.time()` values.

    The sampling runs in a process of its own (`python -m bench.cpu`): as a thread it would
    wait for the interpreter lock behind a busy benchmark (the plain-Python consumer is
    one) and take it from that benchmark at every call.
    """

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self._file = tempfile.NamedTemporaryFile(mode="r", suffix=".jsonl", prefix="skewless-cpu-")
        self._process: subprocess.Popen | None = None
        self._ended: list[_Sample] | None = None

    def __enter__(self) -> CpuSampler:
        self._process = subprocess.Popen([sys.executable, "-m", "bench.cpu", str(os.getpid()), str(self.interval_s),
                                          self._file.name], cwd=Path(__file__).parent.parent)
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait()
        self._ended = self._samples()
        self._file.close()

    def _samples(self) -> list[_Sample]:
        if self._ended is not None:
            return self._ended
        with open(self._file.name) as lines:
            return [_Sample(**json.loads(line)) for line in lines if line.endswith("\n")]

    def span(self, start: float, end: float) -> dict[str, float]:
        """Cores busy between `start` and `end` (epoch seconds): the machine's, then each role's."""
        samples = self._samples()
        first = min(samples, key=lambda s: abs(s.at - start))
        last = min(samples, key=lambda s: abs(s.at - end))
        seconds = last.at - first.at
        if seconds <= 0:
            raise ValueError("the span is shorter than one sampling interval")
        cores = {"machine": (last.machine_busy_s - first.machine_busy_s) / seconds}
        cores |= {role: (last.by_role_s[role] - first.by_role_s[role]) / seconds for role in ROLES}
        return {name: round(value, 2) for name, value in cores.items()}


def _sample_until_stopped(benchmark_pid: int, interval_s: float, path: str) -> None:
    seen: dict[int, tuple[str, float]] = {}
    with open(path, "a") as out:
        while psutil.pid_exists(benchmark_pid):
            sample = _Sample(time.time(), _machine_busy_s(), _by_role(benchmark_pid, seen))
            out.write(json.dumps(asdict(sample)) + "\n")
            out.flush()
            time.sleep(interval_s)


if __name__ == "__main__":
    _sample_until_stopped(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
