"""Each record is declared once: its columns, Flink types, message keys and the README's lists follow the declaration."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from skewless.records import DEAD_LETTER_HEADERS, DEAD_LETTER_PREFIX, RULE_HEADER, SCORE_HEAD, message_keys
from udfs.validation import LABEL_RECORD, TRANSACTION_RECORD

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

_PROBE = """
import json, pandas as pd
import skewless.schema as schema
from jobs.serving import SCORE_FIELDS
from jobs.sources import COLUMNS
from skewless.records import message_keys
from udfs.validation import TRANSACTION_RECORD, rules_spec
frame = pd.DataFrame([{"tx_id": "t1", "cc_num": "c1", "merchant_id": "m1", "amount": 1.5, "lat": None, "lon": None,
                       "event_time": 1_700_000_000_000, "channel": "web"}])
print(json.dumps({
    "loaded from": schema.__file__,
    "columns": schema.TRANSACTION_COLUMNS, "strings": schema.ID_COLUMNS, "optional": schema.OPTIONAL_TRANSACTION_COLUMNS,
    "table": COLUMNS["transactions"], "rules": rules_spec(TRANSACTION_RECORD), "message": message_keys(TRANSACTION_RECORD),
    "normalised": list(schema.normalise_transactions(frame, "probe", arrival_ms=1_700_000_000_000).rows.columns),
    "score fields": [name for name, _ in SCORE_FIELDS],
}))
"""


def test_readme_lists_the_declared_message_keys():
    assert f"`transactions` (key `cc_num`): `{message_keys(TRANSACTION_RECORD)}`" in README
    assert f"`fraud-labels` (key `tx_id`): `{message_keys(LABEL_RECORD)}`" in README
    head = "{" + ", ".join(f'"{c.name}"' for c in SCORE_HEAD) + "}"
    assert f"`fraud-scores` (key `cc_num`): `{head}`" in README


def test_a_field_added_to_a_record_reaches_every_consumer(tmp_path):
    """In a copy of the code, one more transaction field: the staging, the Flink table, the rules and the message know it."""
    for package in ("udfs", "skewless", "jobs", "models"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "engine"))
    rules = tmp_path / "udfs" / "validation.py"
    declared = '    Field("category", "string", required=False),\n'
    assert declared in rules.read_text()
    rules.write_text(rules.read_text().replace(declared, declared + '    Field("channel", "string", required=False),\n'))
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["loaded from"].startswith(str(tmp_path))
    assert seen["columns"][-1] == "channel" and "channel" in seen["strings"] and "channel" in seen["optional"]
    assert "category STRING, channel STRING, et AS" in seen["table"]
    assert "\nchannel string 0 - - - 0" in seen["rules"]
    assert seen["message"].endswith('"category", "channel"}')
    assert seen["normalised"][-1] == "channel"
    assert "channel" not in seen["score fields"], "a transaction field is no model input until a feature or the model reads it"


def test_the_jvm_writes_exactly_the_declared_dead_letter_headers():
    java = (ROOT / "jobs/engine/src/skewless/engine/Received.java").read_text()
    prefix = re.search(r'ERRORS = "([^"]+)"', java).group(1)
    written = {prefix + name for name in re.findall(r'put\(headers, ERRORS \+ "([^"]+)"', java)}
    written |= set(re.findall(r'put\(headers, "([^"]+)"', java))
    assert prefix == DEAD_LETTER_PREFIX
    assert written == {*DEAD_LETTER_HEADERS, RULE_HEADER}
