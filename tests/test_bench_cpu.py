"""The benchmark's CPU sampler puts each process's CPU under the right part of the pipeline."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.cpu import CpuSampler


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_cpu_is_counted_for_the_process_that_used_it() -> None:
    child = [sys.executable, "-c", "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass"]
    with CpuSampler(interval_s=0.2) as cpu:
        time.sleep(0.5)
        own_start = time.time()
        _spin(1.5)
        own_end = time.time()
        subprocess.run(child, check=True)
        child_end = time.time()
        time.sleep(0.5)
    own = cpu.span(own_start, own_end)
    other = cpu.span(own_end, child_end)
    assert own["benchmark process"] > 0.5 > own["other"]
    assert other["other"] > 0.5 > other["benchmark process"]
    assert own["machine"] >= own["benchmark process"] - 0.1
