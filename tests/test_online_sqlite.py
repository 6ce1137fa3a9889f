"""The sqlite online store written by `SqliteRows`: the very rows Feast's own write leaves, served back by Feast."""

import shutil
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
import pytest

from jobs.feature_spec import output_types
from skewless.config import Settings
from skewless.featurestore.names import feature_view_name
from skewless.featurestore.online import OnlineWriter
from skewless.featurestore.sqlite_rows import CACHE_KIB, WRITE_ORDER
from skewless.featurestore.store import apply_definitions, read_online
from udfs.features import CARD, MERCHANT, feature_names, features_of

pytestmark = pytest.mark.integration
T = 1_767_225_600_123


@pytest.fixture(scope="module")
def sqlite_settings(settings: Settings, tmp_path_factory) -> Settings:
    data_dir = tmp_path_factory.mktemp("sqlite") / "data"
    repo = data_dir.parent / "feature_repo"
    shutil.copytree(settings.feature_repo, repo, ignore=shutil.ignore_patterns("__pycache__"))
    own = settings.model_copy(update={"data_dir": data_dir, "feature_repo": repo})
    apply_definitions(own)
    return own


def _features() -> pd.DataFrame:
    """Rows as the engine gives them: every feature typed as declared, nulls in the doubles, two rows of one card."""
    rows = []
    for i, (tx, card, merchant, at) in enumerate([("a1", "c1", "m1", T), ("a0", "c1", "m1", T - 5_000), ("b1", "c2", "m2", T + 7),
                                                  ("d1", "c3", "m1", T + 1_000)]):
        row = {name: (i * 3.25 + 0.1 if sql == "DOUBLE" else i * 7 + 2) for name, sql in output_types().items()
               if name in feature_names()}
        row.update(tx_id=tx, cc_num=card, merchant_id=merchant, event_time=at)
        rows.append(row)
    frame = pd.DataFrame(rows)
    doubles = [name for name, sql in output_types().items() if sql == "DOUBLE" and name in feature_names()]
    frame.loc[frame["tx_id"] == "b1", doubles[:3]] = np.nan
    frame.loc[frame["tx_id"] == "a1", doubles[-1]] = np.nan
    return frame


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Feast's tables, not skewless's write order beside them."""
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if n != WRITE_ORDER]
    return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}


def _clear(conn: sqlite3.Connection, tables) -> None:
    with conn:
        for name in tables:
            conn.execute(f'DELETE FROM "{name}"')


def test_the_tables_hold_what_feasts_own_write_leaves(sqlite_settings):
    writer = OnlineWriter(sqlite_settings)
    assert writer.sqlite is not None and all(writer.sqlite.covers(feature_view_name(e)) for e in (CARD, MERCHANT))
    frame = _features()
    direct = writer.sqlite  # its connection is the one Feast's store writes through
    assert direct.conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB  # the writer's larger page cache
    assert direct.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: a commit survives a power cut
    with closing(sqlite3.connect(direct.conn.execute("PRAGMA database_list").fetchone()[2])) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the database's, for every reader
    writer.sqlite = None  # Feast's write_to_online_store, view by view
    writer.write(frame.iloc[:2])
    writer.write(frame.iloc[2:])
    by_feast = _tables(direct.conn)
    assert sum(len(rows) for rows in by_feast.values()) == 3 * len(features_of(CARD)) + 2 * len(features_of(MERCHANT))
    _clear(direct.conn, by_feast)
    writer.sqlite = direct
    writer.write(frame.iloc[:2])
    writer.write(frame.iloc[2:])
    assert _tables(direct.conn) == by_feast


def test_feast_serves_the_newest_values_with_their_nulls(sqlite_settings):
    writer = OnlineWriter(sqlite_settings)
    frame = _features()
    writer.write(frame)
    writer.write(frame[frame["tx_id"] == "a0"])  # older than a1 and d1, written last: left out (Feast's own write keeps it)
    cards = read_online(sqlite_settings, CARD, ["c1", "c2", "nobody"]).set_index("cc_num")
    names = [f.name for f in features_of(CARD)]
    a1, b1 = frame.set_index("tx_id").loc["a1", names], frame.set_index("tx_id").loc["b1", names]
    assert cards.loc["c1", names].tolist() == a1.tolist()
    assert cards.loc["c2", names].isna().tolist() == b1.isna().tolist() and b1.isna().any()
    assert cards.loc["c2", names].dropna().tolist() == b1.dropna().tolist()
    assert cards.loc["nobody", names].isna().all()
    merchants = read_online(sqlite_settings, MERCHANT, ["m1"]).set_index("merchant_id")
    merchant_names = [f.name for f in features_of(MERCHANT)]
    assert merchants.loc["m1", merchant_names].tolist() == frame.set_index("tx_id").loc["d1", merchant_names].tolist()


def test_two_writers_leave_each_key_its_newest_row(sqlite_settings):
    """Each subtask of a job writes through a writer of its own; the order they commit in does not matter."""
    first, second = OnlineWriter(sqlite_settings), OnlineWriter(sqlite_settings)
    frame = _features().set_index("tx_id")
    names = [f.name for f in features_of(CARD)]

    def row(tx_id: str, at: int, like: str) -> pd.DataFrame:
        return frame.loc[[like]].assign(event_time=at).rename(index={like: tx_id}).rename_axis("tx_id").reset_index()

    def card() -> list:
        return read_online(sqlite_settings, CARD, ["c9"]).set_index("cc_num").loc["c9", names].tolist()

    second.write(row("k2", T + 10, "a1").assign(cc_num="c9"))
    first.write(row("k1", T, "d1").assign(cc_num="c9"))  # older, committed later, by another connection
    assert card() == frame.loc["a1", names].tolist()
    first.write(row("k0", T + 10, "d1").assign(cc_num="c9"))  # the same millisecond: the larger tx_id stands
    assert card() == frame.loc["a1", names].tolist()
    second.write(row("k3", T + 10, "d1").assign(cc_num="c9"))
    assert card() == frame.loc["d1", names].tolist()
