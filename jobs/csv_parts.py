"""The CSV files a bounded job reads and writes, in one vectorised call each (pyarrow, not pandas).

Staged input: header-less, nulls as empty fields, the columns in the order the Flink
source declares them. Output: what `skewless.engine.CsvFiles` wrote, one file per subtask.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv


def read_csv_parts(folder: Path, name: str, types: dict[str, str], order: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every `<name>-<subtask>.csv` in `folder` as one frame with `types` (column -> pyarrow type name),
    sorted by the `order` columns.

    Strings were written quoted, so an empty unquoted field is a null and "" an empty string.
    Sorted by pyarrow, before the frame exists: pandas took 2.6 s to sort a million feature
    rows by (event_time, tx_id). Both order strings by code point.
    """
    schema = pa.schema([(column, pa.type_for_alias(t)) for column, t in types.items()])
    options = pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False)
    parts = [
        pcsv.read_csv(path, read_options=pcsv.ReadOptions(column_names=list(types)), convert_options=options)
        for path in sorted(folder.glob(f"{name}-*.csv")) if path.stat().st_size
    ]
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    return table.sort_by([(column, "ascending") for column in order]).to_pandas() if order else table.to_pandas()


def write_csv_part(frame: pd.DataFrame, path: Path) -> None:
    """Header-less CSV of `frame` (strings quoted where needed, a null is an empty field)."""
    pcsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path, pcsv.WriteOptions(include_header=False))
