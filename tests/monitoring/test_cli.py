"""The command line: durations, the schedule (both jobs each round, interruptible), `python -m monitoring`."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from common.paths import PROJECT_ROOT
from monitoring.cli import main, parse_duration
from monitoring.db import connect

from .conftest import normal_window
from .portal_db import insert_predictions, reports


def test_schedule_runs_both_jobs_twice(sqlite_url, bundle_dir, predictor, served_version, tmp_path, capsys):
    engine = connect(sqlite_url)
    insert_predictions(engine, normal_window(150, 13, predictor), model_version=served_version)
    args = ["schedule", "--every", "1s", "--max-runs", "2", "--min-rows", "100", "--database-url", sqlite_url, "--bundle", str(bundle_dir)]
    args += ["--out", str(tmp_path)]
    assert main(args) == 0
    rows = reports(engine)
    assert list(rows.kind) == ["drift", "performance", "drift", "performance"]
    assert set(rows.status) == {"ok"}


def test_parse_duration():
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("30") == timedelta(seconds=30)
    with pytest.raises(Exception, match="not a duration"):
        parse_duration("soon")


def test_python_dash_m_entry_point(tmp_path):
    """The real command line: exit code and reason, without importing Evidently when it cannot run."""
    import subprocess
    import sys

    missing = tmp_path / "missing.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "monitoring", "drift", "--database-url", f"sqlite:///{missing}", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert f"[drift] ERROR: could not run: cannot reach the database: SQLite file {missing} does not exist" in result.stdout
    assert "ALERT drift error" in result.stderr


def test_schedule_stops_when_told(tmp_path):
    """`schedule` is interruptible: SIGTERM/Ctrl-C set the stop event; the wait ends at once."""
    import time

    from monitoring.cli import run_schedule
    from monitoring.jobs import JobConfig

    config = JobConfig(database_url=f"sqlite:///{tmp_path / 'missing.sqlite3'}", bundle_dir=None, out_dir=tmp_path)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    assert run_schedule(config, every=timedelta(hours=1), max_runs=None, stop=stop) == 0
    assert time.monotonic() - started < 30
    assert len(list(tmp_path.glob("drift-*.json"))) == 1  # one round (errors: no database), then stopped


def _deployed(var, *names):
    for name in names:
        (var / "deploy" / name).mkdir(parents=True)
        (var / "deploy" / name / "portal.sqlite3").write_bytes(b"")


def test_after_make_run_the_production_deploy_is_the_default(tmp_path):
    from monitoring.cli import build_parser, config_from_args, environment_for

    var = tmp_path / "var"
    _deployed(var, "staging", "production")
    env = {"PIPELINE_VAR_DIR": str(var), "MLFLOW_SERVER_VAR_DIR": str(tmp_path / "no-server")}
    args = build_parser().parse_args(["drift", "--last", "5000"])
    assert environment_for(args, env)[1] == "production"
    config = config_from_args(args, env)
    assert config.database_url == f"sqlite:///{var / 'deploy' / 'production' / 'portal.sqlite3'}"
    assert config.bundle_dir == var / "deploy" / "production" / "model"
    assert config.out_dir == var / "reports"  # the folder both deployed portals serve reports from
    staging = config_from_args(build_parser().parse_args(["drift", "--env", "staging"]), {**env, "DATABASE_URL": "sqlite:///other"})
    assert staging.database_url == f"sqlite:///{var / 'deploy' / 'staging' / 'portal.sqlite3'}"  # --env wins over DATABASE_URL


def test_a_named_database_or_no_deploy_keeps_the_portal_defaults(tmp_path):
    from monitoring.cli import build_parser, config_from_args, environment_for

    var = tmp_path / "var"
    args = build_parser().parse_args(["performance"])
    env = {"PIPELINE_VAR_DIR": str(var), "PORTAL_VAR_DIR": str(tmp_path / "portal")}
    assert environment_for(args, env)[1] is None  # nothing deployed
    assert config_from_args(args, env).database_url == f"sqlite:///{tmp_path / 'portal' / 'portal.sqlite3'}"
    _deployed(var, "production")
    named = {**env, "DATABASE_URL": "postgresql://portal@db/portal"}
    assert environment_for(args, named)[1] is None
    assert config_from_args(args, named).database_url == "postgresql://portal@db/portal"
    with pytest.raises(SystemExit):  # an environment that does not exist is refused by the parser
        build_parser().parse_args(["drift", "--env", "prod"])
