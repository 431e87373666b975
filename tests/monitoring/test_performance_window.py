"""The performance job reads its window in chunks (server-side cursor on PostgreSQL, keyset batches on SQLite):
the summary is the same for any chunk size and equals the one computed on the whole window at once, on both
databases; only the rows feedback may judge are kept whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from monitoring.db import connect, iter_predictions, read_feedback, read_predictions
from monitoring.jobs import JobConfig, run_performance
from monitoring.performance import analyse_performance, summarise_performance
from monitoring.performance_window import COLUMNS, PerformanceWindow

from .portal_db import insert_feedback, insert_predictions, reports

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
OPTIONS = {"min_reviewed": 30, "min_accuracy": 0.95, "window_hours": 720.0}


def fill(url: str) -> dict:
    """Three model versions over five days, 150 reviews (a third without a prediction id, by component only),
    ten of them reviewed again later, and a review of a prediction older than the window."""
    engine = connect(url)
    rng = np.random.default_rng(3)
    for k, (version, n, hours_ago) in enumerate((("7", 300, 1), ("6", 160, 50), ("10", 40, 30))):
        frame = pd.DataFrame({"text": [f"text {version} {i}" for i in range(n)], "probability": rng.random(n)})
        insert_predictions(engine, frame, model_version=version, with_components=True, end=NOW - timedelta(hours=hours_ago), seed=k)
    old = pd.DataFrame({"text": ["older than the window"], "probability": [0.9]})
    old_id = insert_predictions(engine, old, model_version="5", with_components=True, end=NOW - timedelta(days=40))[0]
    with engine.connect() as conn:
        every = conn.execute(sa.text("SELECT id, component_id, label FROM portal_prediction ORDER BY id")).fetchall()
    preds = [row for row in every if row[0] != old_id]
    old_component = next(row[1] for row in every if row[0] == old_id)
    picked = rng.choice(len(preds), 150, replace=False)
    feedback = [
        {
            "component_id": preds[i][1],
            "prediction_id": preds[i][0] if j % 3 else None,
            "correct_label": int(preds[i][2] if rng.random() < 0.85 else 1 - preds[i][2]),
            "created_at": NOW + timedelta(seconds=j),
        }
        for j, i in enumerate(picked)
    ]
    feedback += [
        {
            "component_id": preds[i][1],
            "prediction_id": preds[i][0],
            "correct_label": int(1 - preds[i][2]),
            "created_at": NOW + timedelta(hours=1),
        }
        for i in picked[:10]
    ]
    feedback.append({"component_id": old_component, "prediction_id": old_id, "correct_label": 0, "created_at": NOW})
    insert_feedback(engine, feedback)
    engine.dispose()
    return {"picked": [preds[i] for i in picked], "loose": {preds[i][1] for j, i in enumerate(picked) if j % 3 == 0}}


def chunked(url: str, chunk_rows: int) -> tuple[dict, PerformanceWindow, int]:
    engine = connect(url)
    window = PerformanceWindow(read_feedback(engine, since=SINCE))
    chunks = 0
    for chunk in iter_predictions(engine, columns=COLUMNS, since=SINCE, chunk_rows=chunk_rows):
        assert len(chunk) <= chunk_rows
        window.add(chunk)
        chunks += 1
    engine.dispose()
    return json.loads(json.dumps(summarise_performance(window, **OPTIONS), default=str)), window, chunks


def whole(url: str) -> tuple[dict, pd.DataFrame]:
    engine = connect(url)
    frame = read_predictions(engine, since=SINCE, columns=COLUMNS)
    summary = analyse_performance(frame, read_feedback(engine, since=SINCE), **OPTIONS)
    engine.dispose()
    return json.loads(json.dumps(summary, default=str)), frame


def assert_matches_the_window(summary: dict, frame: pd.DataFrame) -> None:
    """Numbers recomputed here with plain pandas on every row of the window."""
    assert summary["rows"] == len(frame) == 500
    assert {v: m["predictions"] for v, m in summary["versions"].items()} == frame["model_version"].value_counts().to_dict()
    latency = frame["latency_ms"].to_numpy()
    assert summary["latency_ms"]["p95"] == round(float(np.percentile(latency, 95)), 3)
    assert summary["latency_ms"]["max"] == round(float(latency.max()), 3)
    per_day = frame.set_index("created_at").resample("1D").size()
    assert summary["volume"]["per_day"] == {str(k.date()): int(v) for k, v in per_day.items()}
    assert summary["volume"]["per_source"] == frame["source"].value_counts().to_dict()
    assert summary["served_version"] == "7"  # the version of the newest row


def test_sqlite_chunks_give_the_whole_window_summary(sqlite_url):
    setup = fill(sqlite_url)
    want, frame = whole(sqlite_url)
    assert_matches_the_window(want, frame)
    for chunk_rows in (1, 7, 64):
        got, _, chunks = chunked(sqlite_url, chunk_rows)
        assert chunks == -(-500 // chunk_rows), f"{chunks} chunks of {chunk_rows} rows for 500 rows"
        assert got == want, f"chunks of {chunk_rows} rows changed the summary"
    reviewed = sum(m["reviewed"] for m in want["versions"].values())
    assert reviewed == want["overall"]["reviewed"] == 150  # the re-reviews replace, the pre-window prediction is out
    assert setup["loose"], "the data has feedback matched by component"


def test_only_the_rows_feedback_may_judge_are_kept(sqlite_url):
    setup = fill(sqlite_url)
    _, window, _ = chunked(sqlite_url, 50)
    judged = window.judged_rows()
    # each component has one prediction here: the reviewed ones, named or matched by component, and no others
    assert set(judged["id"]) == {p for p, _, _ in setup["picked"]}
    assert len(judged) == 150 < window.rows == 500, f"kept {len(judged)} of {window.rows} rows"
    assert judged["created_at"].is_monotonic_increasing


def test_an_empty_window_is_not_enough_data(sqlite_url):
    summary, window, chunks = chunked(sqlite_url, 10)
    assert chunks == 0 and window.rows == 0
    assert summary["status"] == "insufficient_data" and summary["rows"] == 0


@pytest.mark.postgres
def test_postgres_cursor_gives_the_same_summary_as_sqlite(postgres_url, sqlite_url):
    fill(sqlite_url)
    fill(postgres_url)
    want, frame = whole(postgres_url)
    assert_matches_the_window(want, frame)
    for chunk_rows in (7, 1_000):
        got, _, chunks = chunked(postgres_url, chunk_rows)
        assert chunks == -(-500 // chunk_rows) and got == want, f"chunks of {chunk_rows} rows on PostgreSQL"
    sqlite_summary, _, _ = chunked(sqlite_url, 64)
    assert sqlite_summary == want, "the same log on SQLite and PostgreSQL gives different summaries"


def test_the_job_reads_in_chunks_of_its_setting(sqlite_url, tmp_path):
    fill(sqlite_url)
    rows = []
    for chunk_rows in (13, 100_000):
        config = JobConfig(database_url=sqlite_url, bundle_dir=None, out_dir=tmp_path / str(chunk_rows), chunk_rows=chunk_rows)
        outcome = run_performance(config, now=NOW + timedelta(hours=2))
        assert outcome.status in ("ok", "drift") and outcome.summary["rows"] == 500, outcome.headline
        rows.append({k: v for k, v in outcome.summary.items() if k not in ("report_id", "files")})  # publish's, per run
    assert json.dumps(rows[0], default=str) == json.dumps(rows[1], default=str)
    assert len(reports(connect(sqlite_url))) == 2
