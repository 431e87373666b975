"""Fixtures for the portal tests: Django settings, a real inference bundle, users in real roles,
and helpers that start real servers (gunicorn) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT as REPO
from common.processes import free_port

PYTHON = sys.executable
ARTIFACTS = REPO / "test-artifacts"

# The test settings ignore a developer's model and metrics settings (webportal/settings/test.py).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webportal.settings.test")
os.environ.setdefault("SECRET_KEY", "portal-test-secret-key-not-for-production-0123456789abcdef")

import django  # noqa: E402

django.setup()

from webportal.portal import serving  # noqa: E402


@pytest.fixture(scope="session")
def portal_bundle(request) -> Path:
    """A real bundle: the session's small training run (`trained_bundle`, tests/conftest.py)."""
    if os.environ.get("PORTAL_TEST_BUNDLE"):  # the PostgreSQL run reuses the parent run's bundle
        return Path(os.environ["PORTAL_TEST_BUNDLE"])
    return Path(request.getfixturevalue("trained_bundle"))


@pytest.fixture(scope="session")
def second_bundle(tmp_path_factory) -> Path:
    """Another real bundle with a different version (for reload tests)."""
    from tests.webportal.bundle_tool import build_bundle

    return build_bundle(tmp_path_factory.mktemp("bundle2") / "bundle", seed=3, version="2")


@pytest.fixture(autouse=True)
def no_model():
    """Each test starts with a holder that serves nothing; `model` loads one."""
    from webportal.api import authentication

    authentication.clear()
    serving.set_holder(serving.ModelHolder())
    yield
    serving.set_holder(None)


@pytest.fixture
def model(portal_bundle, tmp_path) -> serving.ModelHolder:
    model_dir = tmp_path / "model"
    shutil.copytree(portal_bundle, model_dir)
    holder = serving.ModelHolder(model_dir=str(model_dir))
    assert holder.load(), holder.last_error
    serving.set_holder(holder)
    return holder


@pytest.fixture
def roles(db):
    from webportal.accounts.services import roles_setup

    roles_setup()


def _user(username: str, *role_names: str):
    from webportal.accounts.services import user_create_with_roles

    user, _ = user_create_with_roles(username=username, roles=list(role_names), password="pw-" + username + "-Secret1")
    return user


@pytest.fixture
def tech(roles):
    return _user("tech", "technician")


@pytest.fixture
def reviewer(roles):
    return _user("reviewer", "reviewer")


@pytest.fixture
def operator(roles):
    return _user("operator", "operator")


@pytest.fixture
def api(tech):
    """A DRF client authenticated with a real token of a technician."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech).key}")
    return client


def client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- real servers


HEALTH_TOKEN = "portal-test-health-token"
HEALTH_HEADERS = {"Authorization": f"Bearer {HEALTH_TOKEN}"}  # /healthz's details for the servers portal_env configures


def portal_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Production-like settings (DEBUG off) on plain HTTP loopback, a file SQLite DB in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "webportal.settings.base",
            "DEBUG": "0",
            "SECRET_KEY": "server-test-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "PORTAL_VAR_DIR": str(tmp_path / "var"),
            "REPORTS_DIR": str(tmp_path / "reports"),
            "MODEL_DIR": "",
            "MODEL_URI": "",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HEALTH_TOKEN": HEALTH_TOKEN,
        }
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite file, made once per session; server tests copy it (`fresh_db`)."""
    root = tmp_path_factory.mktemp("template-db")
    manage(portal_env(root), "migrate", "--noinput")
    return root / "portal.sqlite3"


@pytest.fixture
def fresh_db(migrated_sqlite, tmp_path) -> Path:
    """This test's own copy of the migrated database, where portal_env(tmp_path) points."""
    target = tmp_path / "portal.sqlite3"
    shutil.copyfile(migrated_sqlite, target)
    return target


class Server:
    """gunicorn serving webportal.wsgi on a free loopback port; stopped by its own pid."""

    def __init__(self, env: dict, log: Path, *, workers: int = 1, args: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "webportal.wsgi", "--config", "python:webportal.gunicorn_conf", "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--no-control-socket", "--access-logfile", "-", "--timeout", "60", *args],
            cwd=REPO, env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 30.0) -> float:
        import requests

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503):
                    return time.monotonic() - started
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(errors="replace")[-20000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # gunicorn master + its workers: our own process group
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._fh.close()


@pytest.fixture
def start_server(request, tmp_path):
    """Factory: start_server(env) -> a ready Server; its log is printed when the test fails."""
    servers: list[Server] = []

    def start(env: dict, *, workers: int = 1, args: tuple[str, ...] = ()) -> Server:
        server = Server(env, tmp_path / f"gunicorn-{len(servers)}.log", workers=workers, args=args)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in servers:
        server.stop()
        if failed:
            print(f"\n----- gunicorn log ({server.url}) -----\n{server.logs()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def screenshots() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")
