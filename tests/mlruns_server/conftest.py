"""One real server for this folder, booted in the background as soon as collection ends; its log is attached to failures."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from mlruns_server import ServerHandle, start_server
from tests.server_logs import pytest_runtest_makereport  # noqa: F401  (a failing test's report gets its server's log)

_STATE: dict = {}


def pytest_collection_finish(session) -> None:
    if session.config.option.collectonly:
        return
    if any("mlruns_server/test_server.py" in item.nodeid for item in session.items):
        _STATE["folder"] = Path(tempfile.mkdtemp(prefix="cc-mlruns-server-"))
        _STATE["server"] = start_server(var_dir=_STATE["folder"], workers=1, wait=False)


def pytest_sessionfinish(session) -> None:
    server = _STATE.pop("server", None)
    if server is not None:
        server.stop()
    folder = _STATE.pop("folder", None)
    if folder is not None and session.exitstatus == 0:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> ServerHandle:
    if "server" not in _STATE:
        pytest.skip("the server is started only when this folder's tests are selected")
    return _STATE["server"].wait_ready()
