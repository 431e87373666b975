"""The portal on the real PostgreSQL at 127.0.0.1:5432 (user postgres), in throwaway databases per run."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.webportal.conftest import REPO, manage, portal_env
from webportal.portal.log_schema import PREDICTION_COLUMNS, PREDICTION_TABLE

pytestmark = pytest.mark.postgres
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

CONTRACT = {
    "portal_prediction": {
        "id", "component_id", "text", "probability", "label", "model_name", "model_version", "latency_ms", "user_id", "source",
        "created_at", "document_id",
    },
    "portal_feedback": {"id", "component_id", "prediction_id", "correct_label", "comment", "reviewer_id", "created_at"},
    "portal_monitoring_report": {
        "id", "kind", "status", "headline", "model_version", "window_start", "window_end", "rows", "summary", "html_report", "created_at",
    },
    "portal_component": {
        "id", "text", "label", "probability", "model_version", "status", "created_by_id", "created_at", "updated_at", "evidence",
    },
}  # fmt: skip


def _admin():
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")


@pytest.fixture
def pg_database():
    """A throwaway database, dropped afterwards."""
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_create_contract_tables_and_monitoring_can_insert(pg_database, tmp_path):
    """Migrate a fresh PostgreSQL database; the monitoring job's tables have exactly the contract's columns,
    the prediction log's shared column list (webportal.portal.log_schema) is the migrated table's, and a
    SQLAlchemy insert without created_at/summary works (database defaults)."""
    import sqlalchemy as sa

    manage(portal_env(tmp_path, DATABASE_URL=pg_database), "migrate", "--noinput")
    engine = sa.create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        inspector = sa.inspect(engine)
        for table, columns in CONTRACT.items():
            assert {c["name"] for c in inspector.get_columns(table)} == columns, table
        # The one column list the portal writes and monitoring reads is the migrated table's.
        assert {c["name"] for c in inspector.get_columns(PREDICTION_TABLE)} == {"id", *PREDICTION_COLUMNS}
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO portal_monitoring_report (kind, status, headline) VALUES ('drift', 'ok', 'from sqlalchemy')"))
            row = conn.execute(sa.text("SELECT summary, rows, created_at FROM portal_monitoring_report")).one()
        assert row.summary == "{}" and row.rows == 0 and row.created_at is not None
    finally:
        engine.dispose()


def test_portal_suite_runs_on_postgres(portal_bundle):
    """Run the services and API tests again with DATABASE_URL on PostgreSQL (pytest-django creates and
    drops its own test_<name> database)."""
    _admin().close()
    name = f"portal_suite_{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.update({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}", "PORTAL_TEST_BUNDLE": str(portal_bundle)})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow and not browser and not postgres",
         "tests/webportal/test_services.py", "tests/webportal/test_api.py", "tests/webportal/test_prediction_log.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout
