"""docker-compose.yml, checked without Docker: the services, ports and images it declares,
and that the configuration it implies is what skewless's CLI reads from the two profiles."""

import json
import re
from pathlib import Path

import pyflink.version
import pytest
import yaml

from skewless.config import load_settings
from skewless.flink.prometheus import METRICS, reporter_options

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service].get("environment", {}).items()}


def _flink_properties(service: str) -> dict[str, str]:
    return yaml.safe_load(_env(service)["FLINK_PROPERTIES"])


def _published(service: str) -> set[int]:
    """Host ports, each bound to 127.0.0.1 only (Flink REST runs submitted code; Redis and Kafka hold data)."""
    ports = SERVICES[service].get("ports", [])
    assert all(p.startswith("127.0.0.1:") for p in ports), f"{service} publishes on every interface: {ports}"
    return {int(p.split(":")[1]) for p in ports}


@pytest.fixture(scope="module")
def host():
    return load_settings(ROOT / "deploy" / "skewless.compose.yaml", environ={})


@pytest.fixture(scope="module")
def cluster():
    return load_settings(ROOT / "deploy" / "skewless.cluster.yaml", environ={})


def test_the_stack_has_kafka_flink_and_redis():
    assert set(SERVICES) == {"kafka", "redis", "jobmanager", "taskmanager", "prometheus", "grafana"}
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    for flink in ("jobmanager", "taskmanager"):
        assert SERVICES[flink]["build"]["dockerfile"] == "deploy/flink.Dockerfile"
    assert SERVICES["jobmanager"]["command"] == "jobmanager" and SERVICES["taskmanager"]["command"] == "taskmanager"
    assert set(COMPOSE["volumes"]) >= {"skewless-data"}


def test_kafka_runs_kraft_single_node_with_our_partition_count(host):
    env = _env("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(env).upper()
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert int(env["KAFKA_NUM_PARTITIONS"]) == host.topics.partitions


def test_the_flink_image_matches_the_installed_pyflink_and_carries_skewless():
    dockerfile = (ROOT / "deploy" / "flink.Dockerfile").read_text()
    assert f"FROM flink:{pyflink.version.__version__}-" in dockerfile
    assert "python3.11" in dockerfile, "skewless requires Python 3.11 (pyproject.toml)"
    assert "pip install --no-cache-dir /opt/skewless" in dockerfile
    assert "cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/" in dockerfile, "Python operators need flink-python in lib/"
    assert "kafka_connector_jars" in dockerfile and "/opt/flink/lib/" in dockerfile
    assert "openjdk-17-jdk-headless" in dockerfile and "engine_jar()" in dockerfile, "the feature engine is compiled in a JDK stage"
    for flink in ("jobmanager", "taskmanager"):
        assert _flink_properties(flink)["python.executable"] == "/opt/venv/bin/python"
        assert _flink_properties(flink)["jobmanager.rpc.address"] == "jobmanager"


def test_the_host_profile_points_at_the_published_ports(host):
    assert host.kafka.bootstrap_servers == "127.0.0.1:9092" and not host.kafka.embedded
    assert 9092 in _published("kafka")
    assert "EXTERNAL://127.0.0.1:9092" in _env("kafka")["KAFKA_ADVERTISED_LISTENERS"]
    assert host.online_store.type == "redis" and host.online_store.redis == "127.0.0.1:6379"
    assert 6379 in _published("redis")
    assert host.flink.jobmanager == "127.0.0.1:8081" and 8081 in _published("jobmanager")


def test_apache_kafka_gets_exactly_once_sinks_and_the_embedded_broker_does_not(host, cluster):
    assert host.kafka.delivery_guarantee == cluster.kafka.delivery_guarantee == "exactly-once"
    assert load_settings(environ={}).kafka.delivery_guarantee == "at-least-once"


def test_the_cluster_profile_uses_service_names_and_the_shared_volume(cluster):
    assert cluster.kafka.bootstrap_servers == "kafka:29092"
    assert "INTERNAL://kafka:29092" in _env("kafka")["KAFKA_ADVERTISED_LISTENERS"]
    assert cluster.online_store.redis.split(":")[0] == "redis"
    assert cluster.flink.jobmanager == "jobmanager:8081"
    for flink in ("jobmanager", "taskmanager"):
        mounts = dict(v.split(":", 1) for v in SERVICES[flink]["volumes"])
        assert mounts["skewless-data"] == str(cluster.data_dir), "registry, Feast registry and checkpoints must be shared"
    assert str(cluster.feature_repo).startswith("/opt/skewless/")
    assert cluster.flink.parallelism <= int(_flink_properties("taskmanager")["taskmanager.numberOfTaskSlots"])
    checkpoints = _flink_properties("jobmanager")["execution.checkpointing.dir"]
    assert checkpoints == (cluster.data_dir / "checkpoints").as_uri()


def test_redis_needs_the_password_the_flink_containers_get():
    assert "--requirepass" in SERVICES["redis"]["command"]
    assert "${REDIS_PASSWORD:?" in SERVICES["redis"]["command"][-1]
    for flink in ("jobmanager", "taskmanager"):
        assert SERVICES[flink]["environment"]["SKEWLESS_ONLINE_STORE__REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
        assert SERVICES[flink]["environment"]["SKEWLESS_MODEL_UPDATES__KEY"].startswith("${MODEL_UPDATE_KEY:?")


def test_secrets_come_from_the_environment_and_are_never_frozen(tmp_path):
    from jobs.submit import freeze_settings

    settings = load_settings(ROOT / "deploy" / "skewless.cluster.yaml",
                             environ={"SKEWLESS_ONLINE_STORE__REDIS_PASSWORD": "s3cret",
                                      "SKEWLESS_MODEL_UPDATES__KEY": "k3y-material"})
    assert settings.online_store.redis_connection() == "redis:6379,password=s3cret"
    assert settings.model_updates.key.get_secret_value() == "k3y-material"
    assert "s3cret" not in repr(settings) and "k3y-material" not in repr(settings)
    settings = settings.model_copy(update={"data_dir": tmp_path})
    frozen = freeze_settings(settings).read_text()
    assert "s3cret" not in frozen and "k3y-material" not in frozen


def test_both_flink_containers_serve_metrics_and_prometheus_scrapes_them():
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for config in job["static_configs"] for t in config["targets"]}
    for flink in ("jobmanager", "taskmanager"):
        properties = {k: str(v) for k, v in _flink_properties(flink).items()}
        options = {k: v for k, v in properties.items() if k.startswith("metrics.reporter.")}
        port = options.get("metrics.reporter.prom.port")
        assert options == reporter_options(port), f"{flink} does not run skewless's Prometheus reporter"
        assert f"{flink}:{port}" in targets
    mounts = dict(v.rsplit(":", 2)[:2] for v in SERVICES["prometheus"]["volumes"] if v.startswith("./"))
    assert mounts["./deploy/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert _published("prometheus") == {9090} and _published("grafana") == {3000}


def test_grafana_is_provisioned_with_a_dashboard_of_published_metrics_only():
    grafana = SERVICES["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?"), "no default admin password"
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"])
    folders = {container: ROOT / host for host, container in mounts.items()}
    datasources = yaml.safe_load((folders["/etc/grafana/provisioning"] / "datasources" / "prometheus.yml").read_text())
    source = datasources["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((folders["/etc/grafana/provisioning"] / "dashboards" / "skewless.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"

    dashboard = json.loads((folders["/var/lib/grafana/dashboards"] / "skewless.json").read_text())
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("throughput", "latency", "freshness", "drift", "model", "lag", "dead letters"):
        assert topic in titles, f"no {topic} panel"
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == panel["datasource"]["uid"] == source["uid"]
            used |= set(re.findall(r"flink_\w+", target["expr"]))
    assert used and used <= set(METRICS), f"the dashboard reads metrics skewless does not publish: {used - set(METRICS)}"
