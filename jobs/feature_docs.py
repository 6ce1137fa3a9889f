"""What each declared feature becomes, for people: `skewless features --explain NAME` and docs/features.md.

Names like `amount_sum_card_1h` are derived from declarations (`udfs.features`), so grep
finds them nowhere in the code; this module says where each one comes from and what it
compiles to, and renders the same facts as the generated docs/features.md a test keeps
current.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from jobs.feature_spec import ENGINE_COLUMNS, engine_line, output_columns
from skewless.config import Settings
from skewless.featurestore.names import feature_view_name
from udfs.features import FEATURES, TRANSACTION, Feature, includes_current

FEATURES_DOC = Path(__file__).resolve().parent.parent / "docs" / "features.md"
PARITY_FILE = "parity.json"
"""Written by `skewless parity` in the data directory: differences per feature of the last run."""


def find(name: str) -> Feature | None:
    return next((f for f in FEATURES if f.name == name), None)


def _declaration(feature: Feature) -> str:
    """The constructor call, entities by name and a ratio's window by its feature name."""
    fields = {k: v for k, v in vars(feature).items() if k != "description"}
    args = ", ".join(f"{k}={v.name if hasattr(v, 'name') else repr(v)}" for k, v in fields.items())
    return f"{type(feature).__name__}({args})"


def explain(feature: Feature, settings: Settings | None = None) -> dict[str, str]:
    """Declaration, compiled form in each job, Feast views and, when `settings` has a parity record, its parity."""
    stage = f"the {feature.entity.name} stage (keyed by {feature.entity.key}, input field {ENGINE_COLUMNS.index(feature.entity.key)})"
    facts = {
        "name": feature.name,
        "declared": f"udfs/features.py: {_declaration(feature)}",
        "description": feature.description,
        "current transaction": includes_current(feature),
        "type": feature.dtype,
        "backfill": f"FeatureEngine, {stage}: `{engine_line(feature)}`",
        "stream": f"the same engine, stage and line; output column {output_columns().index(feature.name)} of the scoring step's input",
        "feast online": f"{feature_view_name(feature.entity)}:{feature.name}",
        "feast offline": f"{feature_view_name(TRANSACTION)}:{feature.name}, served_features:{feature.name}",
        "model input": "yes, in declaration order",
    }
    if settings is not None:
        facts["parity"] = parity_status(settings, feature.name)
    return facts


def record_parity(settings: Settings, compared: int, differing: list[str]) -> None:
    """What `skewless parity` found, per feature (`differing`: one name per differing value)."""
    counts = {f.name: differing.count(f.name) for f in FEATURES}
    record = {"at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "compared": compared, "differences": counts}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / PARITY_FILE).write_text(json.dumps(record, indent=1))


def parity_status(settings: Settings, name: str) -> str:
    path = settings.data_dir / PARITY_FILE
    if not path.exists():
        return f"not checked: no `skewless parity` run recorded in {settings.data_dir}"
    record = json.loads(path.read_text())
    differences = record["differences"].get(name, 0)
    return f"{differences} differences over {record['compared']} transactions (last `skewless parity`, {record['at']})"


def features_markdown() -> str:
    """docs/features.md: every derived name, what declares it and what it becomes."""
    lines = [
        "# Features",
        "",
        "Generated from `udfs/features.py` by `skewless features --markdown > docs/features.md`;",
        "`tests/test_feature_docs.py` fails when this file is stale. `skewless features --explain NAME`",
        "prints one feature's entry, with its parity status.",
        "",
        "| name | type | declared | engine spec line | Feast online | current transaction |",
        "|---|---|---|---|---|---|",
    ]
    for feature in FEATURES:
        facts = explain(feature)
        lines.append(f"| `{feature.name}` | {feature.dtype} | `{_declaration(feature)}` | `{engine_line(feature)}` "
                     f"| `{facts['feast online']}` | {facts['current transaction']} |")
    lines += ["", "Offline, every feature is also a column of the `transaction_features` view (the backfill's table)",
              "and of the `served_features` view (what the stream scored with).", ""]
    return "\n".join(lines)
