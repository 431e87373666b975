"""Basic auth's user database on PostgreSQL (MLFLOW_AUTH_DATABASE_URI), shared by every replica of the server:
a user made through one server signs in on the other. Without it each replica keeps its own SQLite file, and a
user made on one is unknown to the next request a load balancer sends elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.processes import free_port
from mlruns_server import start_server
from tests.mlruns_server.test_auth import ADMIN, AUTH_ENV, call
from tests.mlruns_server.test_server import assert_one_line_error, run_cli
from tests.pg_scratch import scratch_database


@pytest.fixture
def auth_database():
    with scratch_database("cc_auth") as url:
        yield url


def test_two_replicas_share_one_user_database(auth_database, tmp_path: Path, monkeypatch):
    env = {**AUTH_ENV, "MLFLOW_AUTH_DATABASE_URI": auth_database}
    first = start_server(var_dir=tmp_path / "a", extra_args=["--auth"], env=env, timeout_s=180)
    try:
        second = start_server(var_dir=tmp_path / "b", extra_args=["--auth"], env=env, timeout_s=180)
        try:
            from mlflow.server import get_app_client

            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
            get_app_client("basic-auth", tracking_uri=first.uri).create_user("cc-analyst", "Analyst-pass-2026-z")
            search = "/api/2.0/mlflow/registered-models/search"
            assert call(second.uri, "GET", search, who=("cc-analyst", "Analyst-pass-2026-z")) == 200
            assert call(second.uri, "GET", search, who=("cc-analyst", "wrong")) == 401
            for folder in ("a", "b"):
                assert not (tmp_path / folder / "basic_auth.db").exists(), "no per-replica SQLite user database"
                ini = tmp_path / folder / "basic_auth.ini"
                assert (ini.stat().st_mode & 0o077) == 0, "the ini names the database URI: owner only"
        finally:
            second.stop()
    finally:
        first.stop()


def test_an_unreachable_user_database_is_one_line(tmp_path):
    """Input: MLFLOW_AUTH_DATABASE_URI at a port where nothing listens."""
    env = {**AUTH_ENV, "MLFLOW_AUTH_DATABASE_URI": f"postgresql://postgres:secret@127.0.0.1:{free_port()}/auth"}
    result = run_cli("--check", "--auth", "--port", str(free_port()), "--var-dir", str(tmp_path), env=env)
    assert_one_line_error(result, "auth user database", "unreachable")
    assert "secret" not in result.stderr, "the password is masked"
