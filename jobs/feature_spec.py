"""Compile the feature declarations of `udfs.features` into the feature engine's spec.

The engine (`jobs/engine/src/skewless/engine`, a JVM keyed operator: per-record state in
Python is over a hundred times slower, docs/stack.md) computes every
feature of one entity in one keyed pass; this module tells it which. One stage per
entity, in declaration order; each line of a stage is one feature with its position in
the output row, so adding a window in `udfs/features.py` is all it takes. Both jobs run
the same engine on the same spec: the source bindings differ, the features do not.

Money is carried in integer cents (the payments convention): window sums subtract
expired rows exactly, in any order, which floating point would not.
"""

from __future__ import annotations

from skewless.records import FEATURE_ROW_KEYS
from udfs.features import FEATURES, NIGHT_HOURS, Calendar, Entity, Feature, KmFromMean, LabelRate, PrevTx, Ratio, WindowAgg
from udfs.units import s_to_ms

ENGINE_COLUMNS = ("kind", "tx_id", "cc_num", "merchant_id", "event_ms", "amount_cents", "lat", "lon", "is_fraud")
"""The engine's input row, in its order: transactions (kind 0) and labels (kind 1) in one stream."""
NUMERIC_INPUT = "amount"
"""The transaction field window aggregates and ratios read (in cents inside the engine)."""

OUTPUT_KEYS = FEATURE_ROW_KEYS
_KEY_TYPES = {"tx_id": "STRING", "cc_num": "STRING", "merchant_id": "STRING", "event_time": "BIGINT", "amount": "DOUBLE"}
_SQL_TYPES = {"float64": "DOUBLE", "int64": "BIGINT"}
STAGE_SEPARATOR = "\n--\n"


def output_columns(features: tuple[Feature, ...] = FEATURES) -> tuple[str, ...]:
    """The engine's output columns, in order."""
    return OUTPUT_KEYS + tuple(f.name for f in features)


def output_types(features: tuple[Feature, ...] = FEATURES) -> dict[str, str]:
    """The engine's output columns, in order, with their SQL types (the engine emits them so typed and named)."""
    return {**_KEY_TYPES, **{f.name: _SQL_TYPES[f.dtype] for f in features}}


def engine_outputs(features: tuple[Feature, ...] = FEATURES) -> str:
    """The features' names and types as the engine emits them: `name:long,name:double,...`.

    >>> from udfs.features import CARD
    >>> engine_outputs((WindowAgg(CARD, "amount", "count", 3600), WindowAgg(CARD, "amount", "sum", 3600)))
    'amount_count_card_1h:long,amount_sum_card_1h:double'
    """
    return ",".join(f"{f.name}:{'long' if f.dtype == 'int64' else 'double'}" for f in features)


def _line(feature: Feature, out: dict[Feature, int]) -> str:
    position = out[feature]
    if isinstance(feature, WindowAgg):
        return f"window {position} {feature.how} {s_to_ms(feature.window_s)}"
    if isinstance(feature, PrevTx):
        return f"prev {position} {feature.kind}"
    if isinstance(feature, Ratio):
        return f"ratio {position} {out[feature.denominator]}"
    if isinstance(feature, LabelRate):
        return f"rate {position} {s_to_ms(feature.window_s)}"
    if isinstance(feature, Calendar):
        return f"calendar {position} {feature.kind} {NIGHT_HOURS[0]} {NIGHT_HOURS[1]}"
    if isinstance(feature, KmFromMean):
        return f"place {position} {s_to_ms(feature.window_s)}"
    raise TypeError(f"{feature!r}: no engine line for this kind of feature")


def engine_line(feature: Feature, features: tuple[Feature, ...] = FEATURES) -> str:
    """The spec line `feature` compiles to, as the engine reads it (its output position included).

    >>> from udfs.features import CARD
    >>> engine_line(WindowAgg(CARD, "amount", "sum", 3600), (WindowAgg(CARD, "amount", "sum", 3600),))
    'window 0 sum 3600000'
    """
    return _line(feature, {f: i for i, f in enumerate(features)})


def _check(feature: Feature) -> None:
    """Window aggregates and ratios read the amount; distances read lat and lon, every other kind no field."""
    column = feature.column if isinstance(feature, WindowAgg | Ratio) else NUMERIC_INPUT
    if column != NUMERIC_INPUT:
        raise ValueError(f"{feature.name}: the engine aggregates '{NUMERIC_INPUT}' only, not '{column}'")


def _stage(entity: Entity, features: tuple[Feature, ...], out: dict[Feature, int]) -> str:
    """Ratios last: they read a window value of the same row."""
    mine = [f for f in features if f.entity == entity]
    for feature in mine:
        _check(feature)
    lines = [f"key {ENGINE_COLUMNS.index(entity.key)}"]
    lines += [_line(f, out) for f in sorted(mine, key=lambda f: isinstance(f, Ratio))]
    return "\n".join(lines)


def engine_spec(features: tuple[Feature, ...] = FEATURES) -> str:
    """One stage per entity (in declaration order), each a few lines the engine parses.

    >>> from udfs.features import CARD, MERCHANT
    >>> print(engine_spec((WindowAgg(CARD, "amount", "sum", 3600), LabelRate(MERCHANT, 86400))))
    key 2
    window 0 sum 3600000
    --
    key 3
    rate 1 86400000
    """
    out = {f: i for i, f in enumerate(features)}
    entities = dict.fromkeys(f.entity for f in features)
    return STAGE_SEPARATOR.join(_stage(e, features, out) for e in entities)
