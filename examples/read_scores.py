"""A downstream consumer of `fraud-scores`: alert on every decision to block.

    python examples/read_scores.py [--bootstrap-server 127.0.0.1:9092]

Plain kafka-python, no skewless import: this is all a consumer needs to know.
"""

import argparse
import json
from collections import OrderedDict

from kafka import KafkaConsumer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
parser.add_argument("--topic", default="fraud-scores")
args = parser.parse_args()

consumer = KafkaConsumer(
    args.topic, bootstrap_servers=args.bootstrap_server, group_id="fraud-alerts",
    auto_offset_reset="earliest", value_deserializer=json.loads,
    isolation_level="read_committed",  # with exactly-once sinks (Apache Kafka): committed scores only
)
seen = OrderedDict()  # at-least-once sinks may repeat a score after a restart: same tx_id, same score
for message in consumer:
    score = message.value
    if score["tx_id"] in seen:
        continue
    seen[score["tx_id"]] = None
    if len(seen) > 1_000_000:
        seen.popitem(last=False)
    if score["decision"]:
        print(f"BLOCK {score['tx_id']} card {score['cc_num']}: score {score['score']:.3f} by model {score['model_version']}")
