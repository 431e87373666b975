"""The corrections data set: the read-only export of reviewed labels from a real, migrated portal database (SQLite and
PostgreSQL), one row per normalised text with contradictions reported, the versioned CSV, the mix, and bad input."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from common.paths import PROJECT_ROOT
from common.processes import free_port
from ml.corrections import mix_training_data, prepare_corrections, read_corrections, write_corrections
from ml.data import DataError
from ml.data.portal_export import ExportError, export_reviewed_labels
from ml.registry.corrections_slice import CorrectionsSlice, corrections_check
from tests.pg_scratch import scratch_database

REVIEWS = [  # component text, the model's label, reviewed label, reviewed at
    ("Made of seel in 2025, good condition", 1, 0, "2026-01-02 10:00:00"),
    ("made of  SEEL in 2025, good condition", 1, 1, "2026-01-03 10:00:00"),  # the same text, normalised: contradicts
    ("Made of seel in 2025, good condition", 1, 0, "2026-01-04 10:00:00"),  # ... and the latest review says 0
    ("Iron pipe manufactured in 2018, last serviced 1990, neu condition", 0, 1, "2026-01-05 09:30:00"),
    ("Carbon fiber strut, 2012, condition gud", 1, 0, "2026-01-01 08:00:00"),
]


def _migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "SECRET_KEY": "test-only"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)


def _insert(execute, placeholder: str = "?") -> None:
    p = placeholder
    for i, (text, label, reviewed, at) in enumerate(REVIEWS, start=1):
        execute(
            f"INSERT INTO portal_component (id, text, label, probability, model_version, status, created_at, updated_at) "
            f"VALUES ({p}, {p}, {p}, 0.9, '1', 'classified', {p}, {p})",
            (i, text, label, at, at),
        )
        execute(
            f"INSERT INTO portal_feedback (id, correct_label, comment, created_at, component_id) VALUES ({p}, {p}, '', {p}, {p})",
            (i, reviewed, at, i),
        )


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("portal") / "portal.sqlite3"
    url = f"sqlite:///{path}"
    _migrate(url)
    with sqlite3.connect(path) as conn:
        _insert(conn.execute)
    return url


def test_the_export_reads_every_reviewed_label_from_a_migrated_sqlite_portal(sqlite_url):
    frame = export_reviewed_labels(sqlite_url)
    assert list(frame["feedback_id"]) == [5, 1, 2, 3, 4]  # oldest review first
    assert frame["label"].tolist() == [0, 0, 1, 0, 1] and frame["reviewed_at"].iloc[0] == "2026-01-01T08:00:00.000000Z"


def test_one_row_per_normalised_text_the_latest_review_wins_and_contradictions_are_reported(sqlite_url, tmp_path):
    result = write_corrections(export_reviewed_labels(sqlite_url), tmp_path, source="test")
    assert result.rows == 3 and result.reviewed_rows == 5
    assert [c["labels"] for c in result.contradictions] == [[0, 1, 0]] and result.contradictions[0]["kept"] == 0
    assert result.contradictions[0]["feedback_ids"] == [1, 2, 3]
    frame = pd.read_csv(result.path)
    seel = frame[frame["text"].str.lower().str.contains("seel")]
    assert len(seel) == 1 and seel["label"].tolist() == [0]  # trained once, with the latest reviewed label
    assert result.name == f"corrections-{result.digest[:12]}.csv" and read_corrections(result.path) == result
    assert (result.first_reviewed_at, result.last_reviewed_at) == ("2026-01-01T08:00:00.000000Z", "2026-01-05T09:30:00.000000Z")
    tags = result.tags()
    assert tags["corrections.contradictions"].startswith("1 (") and tags["corrections.rows"] == "3"
    assert tags["corrections.time_range"] == "2026-01-01T08:00:00.000000Z .. 2026-01-05T09:30:00.000000Z"


def test_the_mix_repeats_each_correction_by_its_weight():
    generated = pd.DataFrame({"text": ["a", "b"], "label": [0, 1]})
    corrections = pd.DataFrame({"text": ["c"], "label": [1], "reviewed_at": ["x"]})
    mixed = mix_training_data(generated, corrections, weight=3)
    assert mixed["source"].tolist() == ["generated"] * 2 + ["corrections"] * 3 and mixed["text"].tolist()[-3:] == ["c"] * 3
    with pytest.raises(DataError, match="weight must be a whole number >= 1"):
        mix_training_data(generated, corrections, weight=0)


def test_every_copy_of_a_correction_trains_and_none_is_validated_or_tested():
    from ml.training_steps import split_keeping_corrections_in_training

    generated = pd.DataFrame({"text": [f"steel part {i}" for i in range(200)], "label": [i % 2 for i in range(200)]})
    corrections = pd.DataFrame({"text": [f"seel bracket {i}" for i in range(20)], "label": [0] * 20, "reviewed_at": ["x"] * 20})
    mixed = mix_training_data(generated, corrections, weight=3)
    train, val, test = split_keeping_corrections_in_training(mixed, seed=7)
    assert (train["source"] == "corrections").sum() == 60 and len(train) + len(val) + len(test) == 260
    assert not val["text"].str.startswith("seel").any() and not test["text"].str.startswith("seel").any()
    assert len(val) == len(test) == 10  # 5% each of the 200 generated rows, as without corrections
    plain_train, plain_val, _ = split_keeping_corrections_in_training(generated, seed=7)
    assert plain_val["text"].tolist() == val["text"].tolist() and len(plain_train) == 180


def test_an_empty_portal_gives_an_empty_data_set_and_no_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    _migrate(url)
    result = write_corrections(export_reviewed_labels(url), tmp_path / "out")
    assert result.rows == 0 and result.path == "" and not (tmp_path / "out").exists()
    assert result.tags()["corrections.time_range"] == "empty"


def test_labels_that_are_not_0_or_1_are_refused_with_their_feedback_ids():
    frame = pd.DataFrame(
        {"feedback_id": [1, 2, 3], "component_id": [1, 2, 3], "text": ["a", "b", "c"], "label": [0, 2, "x"], "reviewed_at": ["t"] * 3}
    )
    with pytest.raises(DataError, match=r"2 reviewed label\(s\) are not 0 or 1 \(feedback 2: 2, feedback 3: 'x'\)"):
        prepare_corrections(frame)


def test_a_database_that_is_down_or_missing_is_a_clear_error(tmp_path):
    port = free_port()  # nothing listens there
    with pytest.raises(ExportError, match=rf"PostgreSQL at 127.0.0.1:{port}/portal") as caught:
        export_reviewed_labels(f"postgresql://portal:s3cret@127.0.0.1:{port}/portal", timeout_s=2)
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ExportError, match="does not exist"):
        export_reviewed_labels(f"sqlite:///{tmp_path / 'nowhere.sqlite3'}")
    not_portal = tmp_path / "other.sqlite3"
    sqlite3.connect(not_portal).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ExportError, match=r"no such table.*migrated portal database"):
        export_reviewed_labels(f"sqlite:///{not_portal}")
    with pytest.raises(ExportError, match="scheme 'mysql' is not supported"):
        export_reviewed_labels("mysql://db/portal")


def test_the_export_reads_a_postgresql_portal_in_a_read_only_session():
    psycopg = pytest.importorskip("psycopg")
    with scratch_database("corrections_test") as url:
        name = url.rsplit("/", 1)[1]
        _migrate(url)
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as conn:
            _insert(conn.execute, "%s")
        frame = export_reviewed_labels(url)
        assert list(frame["feedback_id"]) == [5, 1, 2, 3, 4] and frame["reviewed_at"].iloc[-1].startswith("2026-01-05T09:30:00")


def test_the_gate_slice_blocks_only_a_challenger_no_better_than_the_champion():
    empty = corrections_check(CorrectionsSlice(0, 0, None, None), min_accuracy=0.5)
    assert empty.passed and "slice empty (no corrections data set)" in empty.detail
    all_right = corrections_check(CorrectionsSlice(4, 0, None, None), min_accuracy=0.5)
    assert all_right.passed and "champion got all 4 reviewed rows right" in all_right.detail
    assert corrections_check(CorrectionsSlice(4, 3, 1.0, 0.0), min_accuracy=0.5).passed
    assert not corrections_check(CorrectionsSlice(4, 3, 1 / 3, 0.0), min_accuracy=0.5).passed
    assert not corrections_check(CorrectionsSlice(4, 3, 0.0, 0.0), min_accuracy=0.0).passed
    assert corrections_check(CorrectionsSlice(4, 4, 0.25, None), min_accuracy=0.5).passed  # no champion: reported only
