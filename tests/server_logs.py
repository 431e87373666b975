"""The log of every MLflow server a failing test used, attached to that test's report.

A test "uses" a server when one of its fixtures is a `mlruns_server.ServerHandle`, or holds one as `.server`
(tests/registry's RegistryEnv). A folder's conftest.py turns this on by importing the hook:
`from tests.server_logs import pytest_runtest_makereport`.
"""

from __future__ import annotations

import pytest

from mlruns_server import ServerHandle

LOG_BYTES = 8000  # the end of each server's log


def servers_used(funcargs: dict) -> list[ServerHandle]:
    """The distinct tracking servers among a test's fixture values, in fixture order."""
    handles: list[ServerHandle] = []
    for value in funcargs.values():
        handle = getattr(value, "server", value)
        if isinstance(handle, ServerHandle) and handle not in handles:
            handles.append(handle)
    return handles


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for handle in servers_used(getattr(item, "funcargs", {})):
            report.sections.append((f"MLflow server log ({handle.uri})", handle.log(LOG_BYTES)))
