"""Compile the feature declarations of `udfs.features` into one Flink SQL query.

Both jobs run this query on the same two views: on-time transactions in (event time,
tx_id) order and on-time labels (see `jobs.event_time`); the source bindings differ,
the query does not. Each (entity, window) pair becomes one OVER layer stacked on the
previous one: Flink's streaming planner accepts only one window per SELECT, and an
OVER layer's output is append-only with the row time kept, so layers chain. Windows
stay in Flink's own operators; Python is called once, vectorised, for the distance.

Label rates come last: the labels are unioned in as rows of their own (at their
arrival time plus 1 ms, so a label arriving with the transaction is not yet known),
counted by a time window per merchant, and filtered out again.

Amounts are DECIMAL(12, 2) inside the query so that sums and means are exact: the
windowed SUM subtracts expired rows, which in floating point would leave residues
that depend on history length.
"""

from __future__ import annotations

from itertools import groupby

from udfs.features import (
    DAY,
    FEATURES,
    HOUR,
    NIGHT_HOURS,
    Calendar,
    Entity,
    Feature,
    LabelRate,
    PrevTx,
    Ratio,
    WindowAgg,
)

HAVERSINE_FUNCTION = "haversine_km"
TRANSACTIONS_VIEW = "on_time_transactions"
LABELS_VIEW = "on_time_labels"

_SQL_AGG = {"count": "COUNT({c})", "sum": "SUM({c})", "mean": "AVG({c})", "max": "MAX({c})"}
_INTERVAL_UNITS = (("DAY", 86_400), ("HOUR", 3_600), ("MINUTE", 60), ("SECOND", 1))


def interval(window_s: int) -> str:
    """Exact SQL interval literal: 3600 -> INTERVAL '1' HOUR."""
    for unit, size in _INTERVAL_UNITS:
        if window_s % size == 0:
            return f"INTERVAL '{window_s // size}' {unit}"
    raise ValueError(window_s)


def interval_ms(ms: int) -> str:
    """Any whole number of milliseconds: 604799999 -> INTERVAL '6 23:59:59.999' DAY TO SECOND."""
    days, rest = divmod(ms, DAY * 1000)
    hours, rest = divmod(rest, HOUR * 1000)
    minutes, rest = divmod(rest, 60_000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{rest / 1000:06.3f}' DAY(3) TO SECOND(3)"


def _prev_columns(entity: Entity) -> tuple[str, str, str]:
    return f"{entity.name}_prev_lat", f"{entity.name}_prev_lon", f"{entity.name}_prev_time"


_NO_LOCATION = "999e0"
"""Stands in for a null coordinate (|lat| <= 90, |lon| <= 180): FIRST_VALUE skips nulls."""


def _previous(column: str, nullable: bool) -> str:
    value = f"COALESCE({column}, {_NO_LOCATION})" if nullable else column
    first = f"FIRST_VALUE({value}) OVER w"
    if nullable:
        first = f"NULLIF({first}, {_NO_LOCATION})"
    return f"CASE WHEN COUNT(*) OVER w = 2 THEN {first} END"


def _prev_layer(entity: Entity, below: str) -> str:
    """The previous row of the entity: a two-row frame over input already in (time, tx_id) order.

    LAG is not used: over equal timestamps it reads the whole peer group in arrival
    order, so tied transactions would depend on the order the broker delivered them.
    """
    lat, lon, t = _prev_columns(entity)
    return (
        f"SELECT *, {_previous('lat', True)} AS {lat}, {_previous('lon', True)} AS {lon}, "
        f"{_previous('event_time', False)} AS {t} "
        f"FROM {below} WINDOW w AS (PARTITION BY {entity.key} ORDER BY et ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"
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


def _label_layer(rate: LabelRate, below: str) -> str:
    frauds, labels = _label_columns(rate)
    return (
        f"SELECT *, SUM(is_fraud) OVER w AS {frauds}, COUNT(is_fraud) OVER w AS {labels} FROM {below} "
        f"WINDOW w AS (PARTITION BY {rate.entity.key} ORDER BY et "
        f"RANGE BETWEEN {interval_ms(rate.window_s * 1000 - 1)} PRECEDING AND CURRENT ROW)"
    )


def _label_columns(rate: LabelRate) -> tuple[str, str]:
    return f"{rate.name}_frauds", f"{rate.name}_labels"


def _output_expression(feature: Feature) -> str:
    if isinstance(feature, WindowAgg):
        sql_type = "BIGINT" if feature.dtype == "int64" else "DOUBLE"
        return f"CAST({feature.name} AS {sql_type}) AS {feature.name}"
    if isinstance(feature, Ratio):
        return f"CAST({feature.column} / {feature.denominator.name} AS DOUBLE) AS {feature.name}"
    if isinstance(feature, Calendar):
        return f"CAST({_CALENDAR[feature.kind]} AS BIGINT) AS {feature.name}"
    if isinstance(feature, LabelRate):
        frauds, labels = _label_columns(feature)
        return f"CAST({frauds} AS DOUBLE) / NULLIF({labels}, 0) AS {feature.name}"
    return f"{_prev_expression(feature)} AS {feature.name}"


OUTPUT_KEYS = ("tx_id", "cc_num", "merchant_id", "event_time", "amount")
_KEY_TYPES = {"tx_id": "STRING", "cc_num": "STRING", "merchant_id": "STRING", "event_time": "BIGINT", "amount": "DOUBLE"}
_SQL_TYPES = {"float64": "DOUBLE", "int64": "BIGINT"}


def output_columns(features: tuple[Feature, ...] = FEATURES) -> tuple[str, ...]:
    """The query's columns, in order."""
    return OUTPUT_KEYS + tuple(f.name for f in features)


def output_types(features: tuple[Feature, ...] = FEATURES) -> dict[str, str]:
    """The query's columns, in order, with their SQL types."""
    return {**_KEY_TYPES, **{f.name: _SQL_TYPES[f.dtype] for f in features}}


def _label_rows(computed: tuple[Feature, ...]) -> str:
    """Labels shaped like computed transaction rows: nulls but for the merchant, the time and the label."""
    columns = [c if c == "merchant_id" else f"CAST(NULL AS {t}) AS {c}" for c, t in output_types(computed).items()]
    return f"SELECT {', '.join(columns)}, et, is_fraud FROM {LABELS_VIEW}"


def feature_query(features: tuple[Feature, ...] = FEATURES, emit_after_ms: int | None = None) -> str:
    """The SQL producing one row per on-time transaction, with `output_columns()` in that order.

    `emit_after_ms` keeps only transactions after that event time: a stream job reads a
    history first to fill its windows (a bootstrap) and emits only what comes after.
    """
    emitted = "event_time IS NOT NULL" + (f" AND event_time > {emit_after_ms}" if emit_after_ms is not None else "")
    layers: list[str] = []

    def below() -> str:
        return f"l{len(layers) - 1}" if layers else TRANSACTIONS_VIEW

    for entity in dict.fromkeys(f.entity for f in features if isinstance(f, PrevTx)):
        layers.append(_prev_layer(entity, below()))
    windowed = sorted((f for f in features if isinstance(f, WindowAgg)), key=lambda f: (f.entity.name, f.window_s))
    for (entity, window_s), group in groupby(windowed, key=lambda f: (f.entity, f.window_s)):
        layers.append(_window_layer(entity, window_s, list(group), below()))
    rates = [f for f in features if isinstance(f, LabelRate)]
    computed = tuple(f for f in features if not isinstance(f, LabelRate))
    selected = [k if k != "amount" else "CAST(amount AS DOUBLE) AS amount" for k in OUTPUT_KEYS]
    selected += [_output_expression(f) for f in computed]
    if rates:
        layers.append(f"SELECT {', '.join(selected)}, et, CAST(NULL AS INT) AS is_fraud FROM {below()} "
                      f"UNION ALL {_label_rows(computed)}")
        for rate in rates:
            layers.append(_label_layer(rate, below()))
        selected = [*OUTPUT_KEYS, *(f.name if f in computed else _output_expression(f) for f in features)]
    body = f"SELECT {', '.join(selected)} FROM {below()} WHERE {emitted}"
    ctes = ",\n".join(f"l{i} AS ({sql})" for i, sql in enumerate(layers))
    return f"WITH {ctes}\n{body}" if layers else body
