"""Cluster mode for real: a standalone Flink cluster (JobManager + TaskManager processes), the
streaming job submitted to it with parallelism 2 by `skewless submit`, stopped with a savepoint
by `skewless jobs savepoint --stop`, resumed from it, and every transaction scored exactly once."""

import re
import time
from collections import Counter

import pandas as pd
import pytest

from jobs.flink_env import free_port
from skewless.flink.cluster import start_cluster, stop_cluster
from skewless.flink.rest import FlinkRest
from skewless.messaging.producer import LiveProducer
from skewless.messaging.topics import ensure_topics, read_json
from skewless.synthetic.history import live_batch, load_population
from tests.cli_helpers import invoke
from tests.conftest import with_own_topics

pytestmark = pytest.mark.integration
MARGIN_MS = 3_000
"""Event time moves with events: the last seconds of a batch wait for the next one (the lateness, per partition)."""


@pytest.fixture(scope="module")
def cluster(trained_model):
    base = trained_model
    settings = with_own_topics(base, "cluster")
    port = free_port()
    rest = start_cluster(settings, rest_port=port, slots=2)
    ensure_topics(settings)
    yield settings, rest, f"127.0.0.1:{port}"
    for job in rest.jobs():
        if job["state"] == "RUNNING":
            rest.cancel(job["jid"])
    stop_cluster(settings)


def _wait_running(rest: FlinkRest, job_id: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while rest.job(job_id)["state"] != "RUNNING" or any(
            v["status"] != "RUNNING" for v in rest.job(job_id)["vertices"]):
        assert time.monotonic() < deadline, f"job {job_id} not running: {rest.job(job_id)['state']}"
        time.sleep(1)


def _produce(settings, count: int, seed: int) -> pd.DataFrame:
    transactions, labels = live_batch(load_population(settings), count, rate=50.0, seed=seed)
    producer = LiveProducer(settings)
    try:
        producer.run(transactions, labels, label_delay_s=0.3)
    finally:
        producer.close()
    return transactions


def _scored(settings, wanted: set[str], timeout_s: float = 180) -> Counter:
    """Scores of `wanted` transactions, read until all are there (or time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = Counter(r["tx_id"] for r in read_json(settings, settings.topics.scores, idle_timeout_s=3)
                         if r["tx_id"] in wanted)
        if set(counts) == wanted or time.monotonic() > deadline:
            return counts
        time.sleep(3)


def test_stream_on_a_cluster_with_parallelism_2_survives_a_savepoint_exactly_once(cluster):
    settings, rest, jobmanager = cluster
    submitted = invoke(settings, "submit", "stream", "-m", jobmanager, "-p", "2")
    job_id = re.search(r"Job has been submitted with JobID ([0-9a-f]{32})", submitted).group(1)
    _wait_running(rest, job_id)
    # Every operator runs twice: no global sort, no stage pinned to one subtask.
    parallelism = {v["name"]: v["parallelism"] for v in rest.job(job_id)["vertices"]}
    drift = {name: p for name, p in parallelism.items() if name.startswith("drift")}
    assert set(drift.values()) == {1}, "drift windows are global: one subtask, a few rows an hour out"
    assert {p for name, p in parallelism.items() if name not in drift} == {2}, parallelism
    assert any("features by cc_num" in name for name in parallelism) and any("features by merchant_id" in name for name in parallelism)
    assert sum(1 for name in parallelism if "PythonCalc" in name) == 1  # scoring: the only Python on the data path
    assert job_id in invoke(settings, "jobs", "list", "-m", jobmanager)

    first = _produce(settings, 400, seed=21)
    settled = set(first.loc[first["event_time"] < first["event_time"].max() - MARGIN_MS, "tx_id"])
    counts = _scored(settings, settled)
    assert set(counts) == settled and max(counts.values()) == 1

    stopped = invoke(settings, "jobs", "savepoint", job_id, "--stop", "-m", jobmanager)
    savepoint = re.search(r"Savepoint completed\. Path: (\S+)", stopped).group(1)
    assert rest.job(job_id)["state"] == "FINISHED"

    resumed = invoke(settings, "submit", "stream", "-m", jobmanager, "-p", "2", "-s", savepoint)
    new_id = re.search(r"JobID ([0-9a-f]{32})", resumed).group(1)
    _wait_running(rest, new_id)
    second = _produce(settings, 400, seed=22)
    # The first batch's last seconds were waiting in the savepoint's state for later events.
    wanted = set(first["tx_id"]) | set(second.loc[second["event_time"] < second["event_time"].max() - MARGIN_MS, "tx_id"])
    counts = _scored(settings, wanted)
    assert set(counts) == wanted, f"lost across the savepoint: {sorted(wanted - set(counts))[:5]}"
    assert max(counts.values()) == 1, f"scored twice: {[t for t, n in counts.items() if n > 1][:5]}"
    invoke(settings, "jobs", "cancel", new_id, "-m", jobmanager)
