"""The pipeline's data stage with the reviewers' corrections: from the production portal's (real, migrated) SQLite
database, an explicit database, and bad input (a database that is down, no reviewed rows, labels not 0/1). The stage
runs before training: when it fails, nothing is trained, registered or deployed."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from ci.config import PipelineConfig
from ci.stages import STAGE_BY_NAME, StageContext
from ci.targets import target_for
from common.processes import free_port
from ml.data import DataError
from ml.data.portal_export import ExportError, sqlite_path
from tests.ml.test_corrections import _insert, _migrate


def _context(tmp_path, **settings) -> tuple[StageContext, list[str]]:
    config = PipelineConfig(var=tmp_path / "var", rows=200, corrections_weight=4, **settings)
    lines: list[str] = []
    return StageContext(config, target_for(config), "http://127.0.0.1:1", "test-pipeline", lines.append), lines


def _production_db(ctx: StageContext) -> sqlite3.Connection:
    url = ctx.config.environments()[1].database_url
    path = sqlite_path(url)
    path.parent.mkdir(parents=True)
    _migrate(url)
    return sqlite3.connect(path)


def test_no_production_portal_yet_trains_on_generated_data_only_and_says_so(tmp_path):
    ctx, lines = _context(tmp_path)
    out = STAGE_BY_NAME["data"].run(ctx)
    assert out["corrections"] == "" and out["corrections_rows"] == 0 and out["rows"] == len(pd.read_csv(out["data"]))
    assert out["data"].endswith("components-200-7.csv")
    assert any("no production portal database yet" in line and "generated data only" in line for line in lines)


def test_an_empty_production_database_trains_on_generated_data_only(tmp_path):
    ctx, lines = _context(tmp_path)
    _production_db(ctx).close()
    out = STAGE_BY_NAME["data"].run(ctx)
    assert out["corrections_rows"] == 0 and out["data"].endswith("components-200-7.csv")
    assert any("no reviewed labels in sqlite://" in line and "generated data only" in line for line in lines)


def test_reviewed_labels_are_mixed_in_by_weight_and_contradictions_reported(tmp_path):
    ctx, lines = _context(tmp_path)
    with _production_db(ctx) as conn:
        _insert(conn.execute)
    out = STAGE_BY_NAME["data"].run(ctx)
    mixed = pd.read_csv(out["data"])
    assert out["corrections_rows"] == 3 and (mixed["source"] == "corrections").sum() == 3 * 4
    assert out["rows"] == len(mixed) == (mixed["source"] == "generated").sum() + 12
    assert [c["labels"] for c in out["contradictions"]] == [[0, 1, 0]]
    assert any("contradicting reviews of" in line and "kept the latest: 0" in line for line in lines)
    assert out["corrections"].endswith(f"corrections-{out['corrections_digest'][:12]}.csv")


def test_labels_not_0_or_1_fail_the_stage_before_anything_is_trained(tmp_path):
    ctx, _ = _context(tmp_path)
    with _production_db(ctx) as conn:
        _insert(conn.execute)
        conn.execute("UPDATE portal_feedback SET correct_label = 7 WHERE id = 4")  # a row written around the portal
    with pytest.raises(DataError, match=r"1 reviewed label\(s\) are not 0 or 1 \(feedback 4: 7\)"):
        STAGE_BY_NAME["data"].run(ctx)
    assert not list((ctx.config.pipeline_dir / "data").glob("*+corrections-*.csv"))


def test_an_explicit_database_that_is_down_fails_the_stage(tmp_path):
    port = free_port()
    ctx, _ = _context(tmp_path, corrections_database_url=f"postgres://portal:pw@127.0.0.1:{port}/portal")
    with pytest.raises(ExportError, match=rf"cannot export the reviewed labels from PostgreSQL at 127.0.0.1:{port}/portal"):
        STAGE_BY_NAME["data"].run(ctx)
    assert not (ctx.config.pipeline_dir / "data").exists()  # exported before anything is generated


def test_an_explicit_database_with_no_reviewed_label_fails_the_stage(tmp_path):
    """Input tried: PIPELINE_CORRECTIONS_DATABASE_URL naming a migrated portal database with components but no review
    (an empty corrections data set from a database someone chose: likely the wrong one)."""
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    _migrate(url)
    ctx, _ = _context(tmp_path, corrections_database_url=url)
    with pytest.raises(DataError, match=r"has no reviewed labels: a wrong database\? Nothing was trained"):
        STAGE_BY_NAME["data"].run(ctx)
    assert not list((ctx.config.pipeline_dir / "data").glob("*+corrections-*.csv"))


def test_the_settings_come_from_the_environment(tmp_path):
    env = {"PIPELINE_VAR_DIR": str(tmp_path), "PIPELINE_CORRECTIONS_DATABASE_URL": "sqlite:////x.db", "PIPELINE_CORRECTIONS_WEIGHT": "25"}
    config = PipelineConfig.from_env(env)
    assert config.corrections_database_url == "sqlite:////x.db" and config.corrections_weight == 25
