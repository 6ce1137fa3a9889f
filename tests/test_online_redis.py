"""Feast's online store on a real Redis server: the writes and reads the stream and backfill do.

Uses the Redis on 127.0.0.1:6379 when one answers (database 15, emptied first),
otherwise starts `redis-server` on a free port for the session.
"""

import shutil
import socket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from jobs.flink_env import free_port
from skewless.config import Settings
from skewless.featurestore.online import OnlineWriter
from skewless.featurestore.store import apply_definitions, read_online
from udfs.features import CARD, MERCHANT, feature_names, features_of

pytestmark = pytest.mark.integration
DB = 15


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_address():
    if _answers(6379):
        yield "127.0.0.1:6379"
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server to start: install redis-server (.ci/run does)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _answers(port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait()


@pytest.fixture(scope="module")
def redis_settings(settings: Settings, redis_address: str, tmp_path_factory) -> Settings:
    import redis

    host, port = redis_address.split(":")
    redis.Redis(host=host, port=int(port), db=DB).flushdb()
    data_dir = tmp_path_factory.mktemp("redis") / "data"
    repo = data_dir.parent / "feature_repo"
    shutil.copytree(settings.feature_repo, repo, ignore=shutil.ignore_patterns("__pycache__"))
    redis_settings = settings.model_copy(update={
        "data_dir": data_dir, "feature_repo": repo,
        "online_store": settings.online_store.model_copy(update={"type": "redis", "redis": f"{redis_address},db={DB}"}),
    })
    apply_definitions(redis_settings)
    return redis_settings


def _rows(tx_id: str, cc_num: str, merchant: str, event_time: int, value: float) -> pd.DataFrame:
    row = {name: value for name in feature_names()}
    row.update(tx_id=tx_id, cc_num=cc_num, merchant_id=merchant, event_time=event_time)
    return pd.DataFrame([row])


def test_newest_values_are_served_from_redis(redis_settings, redis_address):
    import redis

    writer = OnlineWriter(redis_settings)
    t = 1_767_225_600_000
    writer.write(pd.concat([_rows("a1", "c1", "m1", t, 1.0), _rows("a0", "c1", "m1", t - 5, 0.5),
                            _rows("b1", "c2", "m2", t, 7.0)], ignore_index=True))
    writer.write(_rows("a2", "c1", "m1", t, 2.0))  # same millisecond, later tx_id, another write: it wins
    cards = read_online(redis_settings, CARD, ["c1", "c2", "nobody"]).set_index("cc_num")
    name = features_of(CARD)[0].name
    assert cards.loc["c1", name] == 2.0 and cards.loc["c2", name] == 7.0
    assert np.isnan(cards.loc["nobody", name]) or cards.loc["nobody", name] is None
    merchants = read_online(redis_settings, MERCHANT, ["m1"]).set_index("merchant_id")
    assert merchants.loc["m1", features_of(MERCHANT)[0].name] == 2.0
    host, port = redis_address.split(":")
    assert redis.Redis(host=host, port=int(port), db=DB).dbsize() >= 4, "the features are not in Redis"
