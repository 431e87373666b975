"""Registry fixtures: tiny trained models (once per session) and a real MLflow server per test module.

A test module asks for `registry_server` (SQLite in tmp) or builds its own with `serve()`; the
server's log is attached to the report of any failing test that used it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.registry.scenarios", "tests.registry.helpers")

from mlruns_server import ServerHandle, start_server  # noqa: E402
from tests.registry import helpers  # noqa: E402
from tests.server_logs import pytest_runtest_makereport  # noqa: E402, F401  (a failing test's report gets its servers' logs)

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


@pytest.fixture(scope="session", autouse=True)
def _quiet_mlflow() -> Iterator[None]:
    before = {k: os.environ.get(k) for k in QUIET_ENV}
    os.environ.update(QUIET_ENV)
    yield
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@dataclass
class TinyModels:
    weak: helpers.TinyModel
    good: helpers.TinyModel
    bad: helpers.TinyModel


@pytest.fixture(scope="session")
def tiny_models() -> TinyModels:
    weak, good = helpers.train_tiny(steps=60, snapshot_at=8)
    return TinyModels(weak=weak, good=good, bad=helpers.flipped(good))


class LazyRuns(dict):
    """Training runs logged on first use: weak, good, good_again (same weights as good, another run), bad."""

    def __init__(self, uri: str, models: TinyModels):
        super().__init__()
        self.uri, self.models = uri, models

    def __missing__(self, key: str) -> str:
        model = {"weak": self.models.weak, "good": self.models.good, "good_again": self.models.good, "bad": self.models.bad}[key]
        self[key] = helpers.log_training_run(self.uri, model)
        return self[key]


@dataclass
class RegistryEnv:
    server: ServerHandle
    runs: LazyRuns

    @property
    def uri(self) -> str:
        return self.server.uri


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


_POOL: dict = {}


def _scratch(name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"cc-{name}-"))
    _POOL.setdefault("scratch", []).append(folder)
    return folder


def pytest_collection_finish(session) -> None:
    """Boot every server the selected tests need at once, in the background, before the first test runs.

    Server start-up (two MLflow imports, database migrations) is the slow part of this suite; the
    servers boot while the tiny models train and the unit tests run.
    """
    if session.config.option.collectonly:
        return
    selected = [item.nodeid for item in session.items]
    if any(
        f"registry/{name}" in n
        for n in selected
        for name in ("test_registry_server.py", "test_no_pickle.py", "test_ledger_checksum.py", "test_mlflow_ui.py")
    ):
        _POOL["sqlite"] = start_server(var_dir=_scratch("mlflow-sqlite"), workers=1, wait=False)
    if any("registry/test_registry_postgres.py" in n for n in selected):
        name = f"cc_registry_{uuid.uuid4().hex[:12]}"
        try:
            _pg_admin(f'CREATE DATABASE "{name}"')
        except Exception as exc:  # no PostgreSQL here: the PostgreSQL suite skips with this reason
            _POOL["postgres"] = exc
            return
        _POOL["postgres_db"] = name
        uri = f"postgresql://postgres@127.0.0.1:5432/{name}"
        _POOL["postgres"] = start_server(var_dir=_scratch("mlflow-postgres"), backend_store_uri=uri, workers=1, wait=False)


def pytest_sessionfinish(session) -> None:
    handles = [h for h in _POOL.values() if isinstance(h, ServerHandle)]
    for handle in handles:
        handle.terminate()
    for handle in handles:
        handle.stop()
    if _POOL.get("postgres_db"):
        _pg_admin(f'DROP DATABASE IF EXISTS "{_POOL["postgres_db"]}" WITH (FORCE)')
    if session.exitstatus == 0:  # keep the servers' data and logs when something failed
        for folder in _POOL.get("scratch", []):
            shutil.rmtree(folder, ignore_errors=True)
    _POOL.clear()


@pytest.fixture(scope="session")
def server_pool() -> dict:
    return _POOL


def ready_env(request, pool: dict, key: str) -> RegistryEnv:
    handle = pool.get(key)
    if isinstance(handle, Exception):
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not usable: {handle}")
    if handle is None:
        raise RuntimeError(f"no {key} server was started for this session")
    models = request.getfixturevalue("tiny_models")  # trains while the servers boot
    return RegistryEnv(server=handle.wait_ready(), runs=LazyRuns(handle.uri, models))


@pytest.fixture(scope="module")
def registry_server(request, server_pool) -> RegistryEnv:
    return ready_env(request, server_pool, "sqlite")


@pytest.fixture(scope="module")
def pg_registry(request, server_pool) -> RegistryEnv:
    return ready_env(request, server_pool, "postgres")


@pytest.fixture
def model_name(request) -> str:
    return "cc-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:60]
