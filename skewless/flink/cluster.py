"""A standalone Flink cluster (JobManager and TaskManager processes) from the distribution in the apache-flink wheel.

`skewless cluster start` gives the same engine as a production cluster on one machine:
jobs are submitted to it over REST by the `flink` client (`skewless submit`), and
survive the client. Its configuration and logs live under `data/cluster/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from skewless.config import Settings
from skewless.errors import SkewlessError
from skewless.flink.connectors import flink_home
from skewless.flink.prometheus import CLUSTER_PORTS, reporter_options
from skewless.flink.rest import FlinkRest


def cluster_dir(settings: Settings) -> Path:
    return settings.data_dir / "cluster"


def flink_env(settings: Settings) -> dict[str, str]:
    """Environment for bin/ scripts: this distribution, this cluster's configuration, jars and log folders."""
    home = cluster_dir(settings)
    return {**os.environ, "FLINK_HOME": str(flink_home()), "FLINK_CONF_DIR": str(home / "conf"),
            "FLINK_LIB_DIR": str(home / "lib"), "FLINK_LOG_DIR": str(home / "log")}


def link_libraries(settings: Settings) -> Path:
    """The distribution's lib/ plus opt/flink-python: Python operators run in the cluster's own classpath.

    The local mini-cluster adds flink-python by itself; a standalone cluster only
    loads lib/ (the official PyFlink images copy the jar there too). Links, not copies,
    and the wheel's folders stay untouched.
    """
    lib = cluster_dir(settings) / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    for jar in [*(flink_home() / "lib").glob("*.jar"), *(flink_home() / "opt").glob("flink-python-*.jar")]:
        link = lib / jar.name
        if not link.exists():
            link.symlink_to(jar)
    return lib


def write_config(settings: Settings, rest_port: int, slots: int) -> Path:
    """Flink 2 reads conf/config.yaml (nested YAML): the wheel's defaults, with our ports, slots and folders."""
    conf = cluster_dir(settings) / "conf"
    shutil.copytree(flink_home() / "conf", conf, dirs_exist_ok=True)
    (cluster_dir(settings) / "log").mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((flink_home() / "conf" / "config.yaml").read_text())
    config["rest"] = {"address": "127.0.0.1", "bind-address": "127.0.0.1", "port": rest_port}
    config["jobmanager"].update({"bind-host": "127.0.0.1", "rpc": {"address": "127.0.0.1", "port": 6123}})
    config["taskmanager"].update({"bind-host": "127.0.0.1", "host": "127.0.0.1", "numberOfTaskSlots": slots,
                                  "memory": {"process": {"size": "2048m"}}})
    config.update(_nested(reporter_options(CLUSTER_PORTS)))
    config["execution"] = {"checkpointing": {"dir": settings.checkpoints_dir.resolve().as_uri(),
                                             "savepoint-dir": (settings.data_dir / "savepoints").resolve().as_uri()}}
    (conf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return conf


def _nested(options: dict[str, str]) -> dict:
    """Flink's dotted keys as the nested YAML config.yaml holds them."""
    nested: dict = {}
    for key, value in options.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def start_cluster(settings: Settings, rest_port: int = 8081, slots: int = 2, timeout_s: float = 90.0) -> FlinkRest:
    rest = FlinkRest(f"127.0.0.1:{rest_port}")
    if rest.reachable():
        raise SkewlessError(f"a Flink cluster already answers on 127.0.0.1:{rest_port}: `skewless cluster stop` it first")
    write_config(settings, rest_port, slots)
    link_libraries(settings)
    _run_script(settings, "start-cluster.sh")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rest.reachable() and rest.overview().get("slots-total", 0) >= slots:
            return rest
        time.sleep(1)
    raise SkewlessError(f"the Flink cluster did not come up in {timeout_s:.0f}s: see {cluster_dir(settings) / 'log'}")


def stop_cluster(settings: Settings) -> None:
    if not (cluster_dir(settings) / "conf").exists():
        raise SkewlessError(f"no cluster was started from {settings.data_dir}: nothing to stop")
    _run_script(settings, "stop-cluster.sh")


def _run_script(settings: Settings, script: str) -> None:
    result = subprocess.run(["bash", str(flink_home() / "bin" / script)], env=flink_env(settings),
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SkewlessError(f"{script} failed: {(result.stderr or result.stdout).strip()[-500:]}")
