"""The prediction log read in chunks (server-side cursor on PostgreSQL, keyset batches on SQLite): whole-window
statistics equal those computed on all rows at once, the stratified sample is what the report says it is, and the
drift job runs Evidently on that sample while counting every row."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml.data import generate
from monitoring.cli import main
from monitoring.db import connect, iter_prediction_stats, window_bounds
from monitoring.window import SAMPLING_METHOD, WindowStats, row_keys

from .portal_db import insert_predictions, reports

ROWS = 1_200


def log_rows(url: str, *, seed: int = 0) -> pd.DataFrame:
    """Two model versions, probabilities skewed differently, so the strata differ in size."""
    engine = connect(url)
    rng = np.random.default_rng(seed)
    frame = generate(ROWS, seed=50 + seed)[["text"]].copy()
    frame["probability"] = np.clip(rng.beta(0.6, 0.9, ROWS), 0, 1)
    insert_predictions(engine, frame.iloc[:800], model_version="7", seed=seed)
    insert_predictions(engine, frame.iloc[800:], model_version="6", seed=seed, end=datetime.now(UTC) - timedelta(hours=13))
    engine.dispose()
    frame["model_version"] = ["7"] * 800 + ["6"] * 400
    return frame


def scan(url: str, *, chunk_rows: int, sample_size: int = 300, since=None, last=None) -> tuple[WindowStats, int]:
    engine = connect(url)
    stats = WindowStats(threshold=0.5, sample_size=sample_size)
    chunks = 0
    for chunk in iter_prediction_stats(engine, since=since, last=last, chunk_rows=chunk_rows):
        assert len(chunk) <= chunk_rows
        stats.add(chunk)
        chunks += 1
    engine.dispose()
    return stats, chunks


def expected_summary(frame: pd.DataFrame) -> dict:
    texts = frame["text"]
    length = texts.str.len()
    return {
        "versions": frame["model_version"].value_counts().to_dict(),
        "share": round(float((frame["probability"] >= 0.5).mean()), 4),
        "histogram": np.histogram(frame["probability"], bins=50, range=(0, 1))[0].tolist(),
        "length_mean": round(float(length.mean()), 4),
        "words_mean": round(float(texts.str.strip().str.count(" ").add(1).mean()), 4),
        "digit_mean": round(float((texts.str.count(r"\d") / length.clip(lower=1)).mean()), 4),
    }


def assert_whole_window(stats: WindowStats, frame: pd.DataFrame) -> None:
    got, want = stats.summary("7"), expected_summary(frame)
    assert got["rows"] == len(frame) and got["model_versions"] == want["versions"]
    assert got["share_non_compliant"] == want["share"] and got["probability_histogram"]["counts"] == want["histogram"]
    assert got["descriptors"]["length"]["mean"] == want["length_mean"]
    assert got["descriptors"]["word_count"]["mean"] == want["words_mean"]
    assert got["descriptors"]["digit_share"]["mean"] == want["digit_mean"]
    assert got["descriptors"]["length"]["min"] == frame["text"].str.len().min()


def test_sqlite_batches_give_the_whole_window_statistics(sqlite_url):
    frame = log_rows(sqlite_url)
    stats, chunks = scan(sqlite_url, chunk_rows=256)
    assert chunks == 5  # 1,200 rows in batches of 256
    assert_whole_window(stats, frame)
    one_go, _ = scan(sqlite_url, chunk_rows=10_000)
    assert np.array_equal(stats.sample.chosen_ids(), one_go.sample.chosen_ids()), "the sample depends on the chunk size"


@pytest.mark.postgres
def test_postgres_streams_through_a_server_side_cursor(postgres_url):
    frame = log_rows(postgres_url, seed=1)
    engine = connect(postgres_url)
    seen = []
    with engine.connect() as watcher:
        for chunk in iter_prediction_stats(engine, chunk_rows=500):
            seen.append(len(chunk))
            queries = watcher.execute(
                sa.text("SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).scalars()
            assert any(q.lstrip().upper().startswith(("FETCH", "DECLARE")) for q in queries), "not read through a cursor"
    engine.dispose()
    assert seen == [500, 500, 200]
    stats, _ = scan(postgres_url, chunk_rows=333)
    assert_whole_window(stats, frame)


def test_the_stratified_sample_is_proportional_and_reproducible(sqlite_url):
    frame = log_rows(sqlite_url)
    stats, _ = scan(sqlite_url, chunk_rows=100, sample_size=300)
    chosen = stats.sample.chosen_ids()
    assert len(chosen) == 300 and len(set(chosen)) == 300
    info = stats.sample_summary(len(chosen))
    assert info["method"] == SAMPLING_METHOD and info["size"] == 300 and info["of_rows"] == ROWS
    frame = frame.assign(id=np.arange(1, ROWS + 1), predicted=(frame["probability"] >= 0.5).astype(int))
    for stratum in info["strata"]:
        label = 1 if stratum["predicted"] == "non-compliant" else 0
        rows = frame[(frame["model_version"] == stratum["model_version"]) & (frame["predicted"] == label)]
        assert stratum["rows"] == len(rows)
        assert abs(stratum["sampled"] - 300 * len(rows) / ROWS) < 1, stratum
        assert abs(int(np.isin(chosen, rows["id"]).sum()) - stratum["sampled"]) == 0
    assert np.array_equal(row_keys(np.array([5, 9]), 42), row_keys(np.array([5, 9]), 42))


def test_a_window_no_larger_than_the_sample_is_taken_whole(sqlite_url):
    log_rows(sqlite_url)
    stats, _ = scan(sqlite_url, chunk_rows=500, sample_size=5_000)
    assert len(stats.sample.chosen_ids()) == ROWS and stats.sample_summary(ROWS)["method"].startswith("the whole window")


def test_an_empty_window_has_no_rows_and_no_sample(sqlite_url):
    """Input tried: a window with no predictions at all (a new deployment, a quiet weekend)."""
    stats, chunks = scan(sqlite_url, chunk_rows=100, since=datetime.now(UTC))
    assert chunks == 0 and stats.rows == 0 and len(stats.sample.chosen_ids()) == 0
    assert stats.summary()["share_non_compliant"] is None and stats.summary()["descriptors"]["length"] == {"rows": 0}
    assert window_bounds(connect(sqlite_url), last=10) == (None, None)


def test_last_n_reads_only_the_newest_rows(sqlite_url):
    log_rows(sqlite_url)
    stats, _ = scan(sqlite_url, chunk_rows=128, last=800)
    assert stats.rows == 800 and stats.summary()["model_versions"] == {"7": 800}  # version 6 rows are older


def test_the_drift_job_reports_its_sample_and_counts_every_row(sqlite_url, bundle_dir, predictor, tmp_path, capsys):
    from .conftest import normal_window

    engine = connect(sqlite_url)
    insert_predictions(engine, normal_window(900, 4, predictor), model_version=predictor.version)
    code = main(["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "--sample-size", "400", "-q"])
    assert code in (0, 1)
    summary = json.loads(reports(engine).iloc[0].summary)
    assert summary["rows"] == 900 and summary["analysed_rows"]["current"] == 400
    assert summary["sample"]["size"] == 400 and summary["sample"]["method"] == SAMPLING_METHOD
    assert summary["window_stats"]["rows"] == 900 and sum(summary["window_stats"]["probability_histogram"]["counts"]) == 900
    assert "stratified sample of 400" in summary["headline"]
    assert "read" in summary["timings_s"] and "read_sample" in summary["timings_s"]
    engine.dispose()


def test_rows_logged_while_the_job_reads_do_not_break_it(sqlite_url):
    """The portal keeps writing during a long read: the scan sees a consistent prefix, never an error."""
    log_rows(sqlite_url)
    engine = connect(sqlite_url)
    extra = generate(300, seed=9)[["text"]].assign(probability=0.9)
    writer = threading.Thread(target=insert_predictions, args=(engine, extra), kwargs={"model_version": "8"})
    stats = WindowStats(threshold=0.5, sample_size=100)
    for i, chunk in enumerate(iter_prediction_stats(engine, chunk_rows=200)):
        stats.add(chunk)
        if i == 0:
            writer.start()
            writer.join()
    assert ROWS <= stats.rows <= ROWS + 300
    engine.dispose()
