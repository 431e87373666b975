"""Database access: Django-style URLs, datetime formats, and the whole job on a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from monitoring.cli import main
from monitoring.db import DatabaseError, connect, normalize_url, read_predictions, to_db_time

from .conftest import WINDOW, normal_window, shifted_window
from .portal_db import insert_feedback, insert_predictions, reports


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/portal", "postgresql+psycopg://u:p@db:5432/portal"),
        ("postgresql://u@db/portal", "postgresql+psycopg://u@db/portal"),
        ("pgsql://u@db/portal", "postgresql+psycopg://u@db/portal"),
        ("sqlite:///var/portal.sqlite3", "sqlite:///var/portal.sqlite3"),
        ("sqlite:////abs/portal.sqlite3", "sqlite:////abs/portal.sqlite3"),
    ],
)
def test_django_style_urls(url, expected):
    assert normalize_url(url) == expected


def test_bad_urls():
    for url, message in [("", "no database configured"), ("portal.sqlite3", "is not a URL"), ("mysql://a@b/c", "not supported")]:
        with pytest.raises(DatabaseError, match=message):
            normalize_url(url)


def test_sqlite_times_are_djangos_text_format(sqlite_url):
    engine = connect(sqlite_url)
    moment = datetime(2026, 11, 26, 11, 18, 41, 123456, tzinfo=UTC)
    assert to_db_time(engine, moment) == "2026-11-26 11:18:41.123456"
    assert to_db_time(engine, moment.astimezone(ZoneInfo("Europe/Paris"))) == "2026-11-26 11:18:41.123456"
    assert to_db_time(engine, moment.replace(microsecond=0)) == "2026-11-26 11:18:41"  # as Django writes it
    # Django writes whole seconds without a fraction: the window filter must still compare correctly.
    with engine.begin() as conn:
        for stamp in ("2026-11-26 11:18:41", "2026-11-26 11:18:40.999999", "2026-11-26 11:18:41.000001"):
            conn.execute(
                sa.text(
                    "INSERT INTO portal_prediction (text, probability, label, model_name, model_version, latency_ms, source, created_at) "
                    "VALUES ('x', 0.1, 0, 'm', '1', 1.0, 'api', :t)"
                ),
                {"t": stamp},
            )
    got = read_predictions(engine, since=datetime(2026, 11, 26, 11, 18, 41, tzinfo=UTC))
    assert sorted(got["created_at"].dt.microsecond) == [0, 1]
    assert str(got["created_at"].dt.tz) == "UTC"


@pytest.mark.postgres
def test_drift_and_performance_on_postgres(postgres_url, bundle_dir, predictor, served_version, tmp_path, capsys):
    engine = connect(postgres_url)
    assert engine.dialect.driver == "psycopg"
    insert_predictions(engine, shifted_window(WINDOW, 5, predictor), model_version=served_version, with_components=True)
    insert_predictions(engine, normal_window(WINDOW, 6, predictor), end=datetime.now(UTC) - timedelta(days=9), model_version="old")
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT id, component_id, label FROM portal_prediction ORDER BY id LIMIT 40")).fetchall()
    insert_feedback(
        engine, [{"component_id": c, "prediction_id": p, "correct_label": y, "created_at": datetime.now(UTC)} for p, c, y in first]
    )

    assert main(["drift", "--database-url", postgres_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "-q"]) == 1
    assert main(["performance", "--database-url", postgres_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "[drift] DRIFT" in printed and "[performance] OK" in printed
    rows = reports(engine)
    assert list(rows.kind) == ["drift", "performance"]
    drift = rows.iloc[0]
    assert drift["rows"] == WINDOW  # the 9-day-old rows fall outside the default 7-day window
    assert drift.created_at.tzinfo is not None and abs(drift.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert abs((drift.window_end - drift.window_start) - timedelta(days=7)) < timedelta(seconds=1)
    perf = json.loads(rows.iloc[1].summary)
    assert perf["versions"][served_version]["reviewed"] == 40 and perf["versions"][served_version]["accuracy"]["value"] == 1.0
    assert set(perf["versions"]) == {served_version, "old"}
    engine.dispose()


@pytest.mark.postgres
def test_unreachable_postgres_exits_2_fast(bundle_dir, tmp_path, capsys):
    started = datetime.now(UTC)
    code = main(["drift", "--database-url", "postgres://postgres@127.0.0.1:9/portal", "--bundle", str(bundle_dir), "--out", str(tmp_path)])
    assert code == 2 and datetime.now(UTC) - started < timedelta(seconds=20)
    assert "could not run: cannot reach the database postgresql+psycopg://postgres@127.0.0.1:9/portal" in capsys.readouterr().out


def test_monitoring_reads_the_portal_column_list_without_django():
    """monitoring.db takes the prediction log's columns from webportal.portal.log_schema: importing it (and the
    jobs and CLI) in a fresh process loads no Django, and the default read is every logged column but the user."""
    import subprocess
    import sys

    from webportal.portal.log_schema import PREDICTION_COLUMNS

    code = (
        "import sys, monitoring.cli, monitoring.jobs, monitoring.db as db; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django')); print(list(db.READ_COLUMNS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == str(["id", *(c for c in PREDICTION_COLUMNS if c != "user_id")])
