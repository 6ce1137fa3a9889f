"""Operating a running stream: the Prometheus endpoint and `skewless status`, against a real `skewless stream` process.

The job runs as a user starts it (`skewless stream`, its own process and mini-cluster),
with the local Prometheus reporter on by setting. Valid traffic, two bad messages and
labels go through it; then every metric docs/metrics.md names must be served with a
value a user would believe, and `skewless status --output json` must show the same job.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict

import pytest
import yaml
from kafka import KafkaProducer

from jobs.drivers.parity import with_disorder
from jobs.flink_env import free_port
from skewless.flink.job_status import read_local_job
from skewless.flink.prometheus import METRICS, OPERATOR
from skewless.messaging.producer import LiveProducer
from skewless.messaging.topics import ensure_topics, read_json
from skewless.synthetic.history import live_batch, load_population
from tests.cli_helpers import invoke, invoke_json
from tests.conftest import HISTORY_END_MS, with_own_topics
from tests.processes import SKEWLESS, user_shell_env

pytestmark = pytest.mark.integration
OURS = re.compile(r"^(flink_taskmanager_job_task_operator_(?:deserializer_)?skewless_\w+?)\{(.*)\} (\S+)$")
SHORT = re.compile(r"^flink_taskmanager_job_task_operator_(?:deserializer_)?skewless_")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Our metric families: full name -> [(labels, value)]."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    families: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for line in body.splitlines():
        if m := OURS.match(line):
            families[m[1]].append((dict(LABEL.findall(m[2])), float(m[3])))
    return families


def _label(value: str) -> str:
    """Flink's reporter writes label values with '_' for every character Prometheus names do not allow."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", value)


def _wait(what: str, check, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def running(trained_model):
    """`skewless stream` in its own process, its own topics and consumer group, fed once."""
    s = with_own_topics(trained_model, "ops")
    s = s.model_copy(update={
        "kafka": s.kafka.model_copy(update={"consumer_group": "skewless-ops"}),
        "flink": s.flink.model_copy(update={"restart_attempts": 0}),
        "metrics": s.metrics.model_copy(update={"prometheus_local": True, "prometheus_port": free_port()}),
        "drift": s.drift.model_copy(update={"window_s": 60, "grace_s": 0, "min_rows": 1}),
        "scoring": s.scoring.model_copy(update={"override_threshold": 0.02}),
    })
    ensure_topics(s)
    config = s.data_dir / "ops-settings.yaml"
    config.write_text(yaml.safe_dump(s.model_dump(mode="json")))
    s.stream_status_file.unlink(missing_ok=True)
    log = s.data_dir / "ops-stream.log"
    process = subprocess.Popen([SKEWLESS, "--config", str(config), "stream"],
                               stdout=log.open("w"), stderr=subprocess.STDOUT, env=user_shell_env())
    try:
        _wait("the job to say where its REST API is", lambda: read_local_job(s) or process.poll() is not None)
        assert process.poll() is None, f"skewless stream exited: {log.read_text()[-2000:]}"
        _wait("the job to run", lambda: invoke_json(s, "--output", "json", "status")["stream"]["state"] == "RUNNING")
        transactions, labels = live_batch(load_population(s), count=300, rate=2, seed=21, start_ms=HISTORY_END_MS + 7_200_000)
        producer = LiveProducer(s)
        producer.replay(with_disorder(transactions, "event_time", 0, 0), with_disorder(labels, "label_time", 0, 0))
        producer.close()
        bad = KafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
        bad.send(s.topics.transactions, key=b"x", value=b"not json at all", partition=0)
        bad.send(s.topics.labels, key=b"y", value=json.dumps(
            {"tx_id": transactions["tx_id"].iloc[0], "merchant_id": "m", "is_fraud": 5, "label_time": HISTORY_END_MS}).encode(),
            partition=1)
        bad.flush()
        bad.close()
        scores = list(read_json(s, s.topics.scores, expect=len(transactions), idle_timeout_s=60))
        assert len({r["tx_id"] for r in scores}) == len(transactions)
        yield s, process, transactions
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_prometheus_endpoint_serves_every_metric_of_the_loop(running):
    s, process, transactions = running
    n = len(transactions)

    def complete():
        """A drift window closed, and the online write-behind, which runs behind the scores, has written rows."""
        families = _scrape(s.metrics.prometheus_port)
        closed = families.get(f"{OPERATOR}skewless_drift_windows_total", [({}, 0)])
        written = families.get(f"{OPERATOR}skewless_feature_view_quantile_feature_freshness_ms", [({}, 0)])
        return families if closed[0][1] > 0 and all(v > 0 for _, v in written) else None

    families = _wait("a drift window to close and the online store to be written", complete)

    assert set(families) == set(METRICS), "the endpoint and the catalogue (skewless.flink.prometheus.METRICS) differ"
    families = {SHORT.sub("", name): values for name, values in families.items()}

    def by(name: str, label: str) -> dict[str, float]:
        return {labels[label]: value for labels, value in families[name]}

    records_in = by("topic_records_in_total", "topic")
    assert records_in[_label(s.topics.transactions)] == n + 1
    assert records_in[_label(s.topics.labels)] == n + 1
    assert by("topic_records_out_total", "topic")[_label(s.topics.scores)] == n
    assert by("rule_dead_letters_total", "rule") == {_label("record.json"): 1, _label("is_fraud.range"): 1}

    lag = {(labels["topic"], labels["partition"]): value for labels, value in families["topic_partition_consumer_lag_records"]}
    for topic in (s.topics.transactions, s.topics.labels):
        assert {p for t, p in lag if t == _label(topic)} == {str(p) for p in range(s.topics.partitions)}
    assert all(value == 0 for value in lag.values()), f"the job has read everything, yet reports lag {lag}"

    assert families["score_latency_ms_count"][0][1] == n
    quantiles = by("score_latency_ms", "quantile")
    assert {"0.5", "0.99"} <= set(quantiles) and 0 < quantiles["0.5"] <= quantiles["0.99"]

    freshness = {(labels["feature_view"], labels["quantile"]): v for labels, v in families["feature_view_quantile_feature_freshness_ms"]}
    assert {view for view, _ in freshness} == {"card_features", "merchant_features"}
    assert all(v > 0 for v in freshness.values())

    assert by("model_version_serving_model", "model_version") == {"v1": 1}
    assert by("model_version_scores_total", "model_version") == {"v1": n}
    assert families["model_age_seconds"][0][1] > 0
    alerts = families["alerts_total"][0][1]
    assert 0 < alerts <= n and families["alert_rate"][0][1] == pytest.approx(alerts / n)

    psi = by("feature_drift_psi", "feature")
    assert "score" in psi and max(psi.values()) > 0


def test_status_shows_the_running_job_then_that_it_stopped(running):
    s, process, _ = running

    def with_dead_letters():
        """Flink's REST API refreshes a job's metrics every 10 s (metrics.fetcher.update-interval)."""
        status = invoke_json(s, "--output", "json", "status")
        return status if len(status["stream"]["dead letters"]) == 2 else None

    status = _wait("status to show the dead letters", with_dead_letters, timeout_s=60)
    stream = status["stream"]
    assert stream["state"] == "RUNNING" and stream["restarts"] == 0 and stream["uptime s"] > 0
    assert stream["job id"] == read_local_job(s).job_id
    assert set(stream["lag"]) == {s.topics.transactions, s.topics.labels}
    assert all(len(parts) == s.topics.partitions for parts in stream["lag"].values())
    assert set(stream["freshness ms"]) == {"card_features", "merchant_features"}
    assert all(set(q) == {"p50", "p99"} and q["p50"] <= q["p99"] for q in stream["freshness ms"].values())
    assert stream["serving model"] == "v1" and status["model"] == "v1" and status["model age s"] >= 0
    assert stream["dead letters"] == {"record.json": 1, "is_fraud.range": 1}
    assert 0 < len(stream["top drifting"]) <= 3 and stream["score psi"] is not None

    readable = invoke(s, "status")
    assert f"RUNNING job {stream['job id']}" in readable and "is_fraud.range 1" in readable

    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert invoke_json(s, "--output", "json", "status")["stream"]["state"] == "NOT RUNNING"
