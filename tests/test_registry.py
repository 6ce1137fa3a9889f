import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from models.registry import MODEL_FILE, Registry
from models.scoring import Scorer
from skewless.errors import SkewlessError
from udfs.features import model_inputs


def _booster(n_features):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, n_features))
    return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, label=x[:, 0] > 0), num_boost_round=3)


def test_versions_checksums_and_promotion(tmp_path):
    reg = Registry(tmp_path)
    names = list(model_inputs())
    v1 = reg.save(_booster(len(names)), names, {"rows": 200}, {"average_precision": 0.5})
    v2 = reg.save(_booster(len(names)), names, {"rows": 200}, {}, promote=False)
    assert (v1.version, v2.version, reg.current()) == ("v1", "v2", "v1")
    assert v2.parent == "v1"
    reg.promote("v2")
    assert reg.current() == "v2"
    scorer = Scorer.from_registry(tmp_path)
    rows = pd.DataFrame(np.zeros((3, len(names))), columns=names).assign(km_since_prev_card=np.nan)
    assert scorer.score(rows).shape == (3,) and scorer.version == "v2"

    (tmp_path / "v2" / MODEL_FILE).write_bytes(b"tampered")
    with pytest.raises(SkewlessError, match="does not match its checksum"):
        reg.load("v2")
    with pytest.raises(SkewlessError, match="no model version v9"):
        reg.promote("v9")


def test_model_on_other_features_is_refused(tmp_path):
    Registry(tmp_path).save(_booster(2), ["amount", "something_else"], {}, {})
    with pytest.raises(SkewlessError, match="trained on features"):
        Scorer.from_registry(tmp_path)


def test_no_model_yet(tmp_path):
    with pytest.raises(SkewlessError, match="run `skewless train` first"):
        Registry(tmp_path).load()


def test_models_commands_list_promote_and_roll_back(tmp_path):
    from skewless.config import load_settings
    from tests.cli_helpers import invoke, invoke_json

    settings = load_settings(environ={}, overrides={"data_dir": tmp_path, "kafka": {"bootstrap_servers": "127.0.0.1:1"}})
    reg, names = Registry(settings.models_dir), list(model_inputs())
    reg.save(_booster(len(names)), names, {"rows": 200}, {"average_precision": 0.5})
    reg.save(_booster(len(names)), names, {"rows": 300}, {"average_precision": 0.6})
    listed = invoke_json(settings, "--output", "json", "models", "list")
    assert [(m["version"], m["current"], m["parent"]) for m in listed] == [("v1", "", ""), ("v2", "*", "v1")]
    rolled = invoke(settings, "models", "rollback")
    assert "rolled back from v2 to v1" in rolled and "no running stream job was told" in rolled  # no broker here
    assert reg.current() == "v1"
    assert invoke_json(settings, "models", "show")["version"] == "v1"
    invoke(settings, "models", "promote", "v2")
    assert reg.current() == "v2"
    (tmp_path / "models" / "v1" / MODEL_FILE).write_bytes(b"tampered")
    with pytest.raises(SkewlessError, match="does not match its checksum"):
        invoke(settings, "models", "rollback")
    assert reg.current() == "v2"


def _save_and_promote(root: str, cycles: int) -> None:
    reg = Registry(Path(root))
    names = list(model_inputs())
    booster = _booster(len(names))
    for _ in range(cycles):
        reg.promote(reg.save(booster, names, {}, {}, promote=False).version)


def test_concurrent_writers_get_unique_versions_and_a_loadable_current(tmp_path):
    (tmp_path / ".v1.tmp").mkdir(parents=True)  # left by a writer that crashed: cleaned, not fatal
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_save_and_promote, args=(str(tmp_path), 20)) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    reg = Registry(tmp_path)
    assert reg.versions() == [f"v{i}" for i in range(1, 41)]
    assert reg.load()[1].version == reg.current()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("name", ["../x", "v1/../../etc", "latest"])
def test_version_names_are_checked_on_every_path(tmp_path, name):
    reg = Registry(tmp_path)
    for call in (reg.load, reg.meta, reg.promote):
        with pytest.raises(SkewlessError, match="is not a model version"):
            call(name)
