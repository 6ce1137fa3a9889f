"""Compile the feature declarations of `udfs.features` into one Flink SQL query.

Both jobs run this query on a table named `transactions` (the source binding differs,
the query does not). Each (entity, window) pair becomes one OVER layer stacked on the
previous one: Flink's streaming planner accepts only one window per SELECT, and an
OVER layer's output is append-only with the row time kept, so layers chain. Windows
stay in Flink's own operators; Python is called once, vectorised, for the distance.

Amounts are DECIMAL(12, 2) inside the query so that sums and means are exact: the
windowed SUM subtracts expired rows, which in floating point would leave residues
that depend on history length.
"""

from __future__ import annotations

from itertools import groupby

from udfs.features import DAY, FEATURES, HOUR, NIGHT_HOURS, Calendar, Entity, Feature, PrevTx, Ratio, WindowAgg

HAVERSINE_FUNCTION = "haversine_km"
SOURCE_TABLE = "transactions"

_SQL_AGG = {"count": "COUNT({c})", "sum": "SUM({c})", "mean": "AVG({c})", "max": "MAX({c})"}
_INTERVAL_UNITS = (("DAY", 86_400), ("HOUR", 3_600), ("MINUTE", 60), ("SECOND", 1))


def interval(window_s: int) -> str:
    """Exact SQL interval literal: 3600 -> INTERVAL '1' HOUR."""
    for unit, size in _INTERVAL_UNITS:
        if window_s % size == 0:
            return f"INTERVAL '{window_s // size}' {unit}"
    raise ValueError(window_s)


def _prev_columns(entity: Entity) -> tuple[str, str, str]:
    return f"{entity.name}_prev_lat", f"{entity.name}_prev_lon", f"{entity.name}_prev_time"


def _prev_layer(entity: Entity, below: str) -> str:
    lat, lon, t = _prev_columns(entity)
    return (
        f"SELECT *, LAG(lat) OVER w AS {lat}, LAG(lon) OVER w AS {lon}, LAG(event_time) OVER w AS {t} "
        f"FROM {below} WINDOW w AS (PARTITION BY {entity.key} ORDER BY et)"
    )


def _window_layer(entity: Entity, window_s: int, aggs: list[WindowAgg], below: str) -> str:
    columns = ", ".join(f"{_SQL_AGG[a.how].format(c=a.column)} OVER w AS {a.name}" for a in aggs)
    return (
        f"SELECT *, {columns} FROM {below} WINDOW w AS (PARTITION BY {entity.key} ORDER BY et "
        f"RANGE BETWEEN {interval(window_s)} PRECEDING AND CURRENT ROW)"
    )


def _prev_expression(feature: PrevTx) -> str:
    lat, lon, t = _prev_columns(feature.entity)
    km = f"{HAVERSINE_FUNCTION}({lat}, {lon}, lat, lon)"
    if feature.kind == "km":
        return km
    if feature.kind == "seconds":
        return f"CAST(event_time - {t} AS DOUBLE) / 1000"
    return f"{km} * 3600 / (CAST(GREATEST(event_time - {t}, 1000) AS DOUBLE) / 1000)"


# Calendar flags from integer epoch milliseconds: no time zone or calendar library can
# differ between the two pipelines. 1970-01-01 was a Thursday, so (day + 3) % 7 is 0 on Monday.
_HOUR = f"MOD(event_time / {HOUR * 1000}, 24)"
_CALENDAR = {
    "hour_of_day": _HOUR,
    "is_night": f"CASE WHEN {_HOUR} BETWEEN {NIGHT_HOURS[0]} AND {NIGHT_HOURS[1]} THEN 1 ELSE 0 END",
    "is_weekend": f"CASE WHEN MOD(event_time / {DAY * 1000} + 3, 7) >= 5 THEN 1 ELSE 0 END",
}


def _output_expression(feature: Feature) -> str:
    if isinstance(feature, WindowAgg):
        sql_type = "BIGINT" if feature.dtype == "int64" else "DOUBLE"
        return f"CAST({feature.name} AS {sql_type}) AS {feature.name}"
    if isinstance(feature, Ratio):
        return f"CAST({feature.column} / {feature.denominator.name} AS DOUBLE) AS {feature.name}"
    if isinstance(feature, Calendar):
        return f"CAST({_CALENDAR[feature.kind]} AS BIGINT) AS {feature.name}"
    return f"{_prev_expression(feature)} AS {feature.name}"


OUTPUT_KEYS = ("tx_id", "cc_num", "merchant_id", "event_time", "amount")


def output_columns(features: tuple[Feature, ...] = FEATURES) -> tuple[str, ...]:
    """The query's columns, in order."""
    return OUTPUT_KEYS + tuple(f.name for f in features)


def feature_query(features: tuple[Feature, ...] = FEATURES, source: str = SOURCE_TABLE) -> str:
    """The SQL producing one row per transaction, with `output_columns()` in that order."""
    layers: list[str] = []

    def below() -> str:
        return f"l{len(layers) - 1}" if layers else source

    for entity in dict.fromkeys(f.entity for f in features if isinstance(f, PrevTx)):
        layers.append(_prev_layer(entity, below()))
    windowed = sorted((f for f in features if isinstance(f, WindowAgg)), key=lambda f: (f.entity.name, f.window_s))
    for (entity, window_s), group in groupby(windowed, key=lambda f: (f.entity, f.window_s)):
        layers.append(_window_layer(entity, window_s, list(group), below()))
    ctes = ",\n".join(f"l{i} AS ({sql})" for i, sql in enumerate(layers))
    last = below()
    selected = [k if k != "amount" else "CAST(amount AS DOUBLE) AS amount" for k in OUTPUT_KEYS]
    selected += [_output_expression(f) for f in features]
    body = f"SELECT {', '.join(selected)} FROM {last}"
    return f"WITH {ctes}\n{body}" if layers else body
