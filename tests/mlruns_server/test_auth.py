"""Basic auth on a real server (issue 11): with no credentials, or as the read-only user, none of the writes an
attacker would make (move @champion, overwrite a bundle file, rewrite the checksum tag, create or delete a
registered model) gets through; the admin's client and the reader's browsing work."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from common.paths import PROJECT_ROOT
from common.processes import free_port
from mlruns_server import start_server
from tests.mlruns_server.test_server import assert_one_line_error, run_cli

ADMIN = ("cc-admin", "Admin-pass-2026-x")
READER = ("cc-reader", "Reader-pass-2026-y")
AUTH_ENV = {
    "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN[0],
    "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
    "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret-key-0123456789",
    "MLFLOW_AUTH_READER_USERNAME": READER[0],
    "MLFLOW_AUTH_READER_PASSWORD": READER[1],
}
MODEL = "cc-auth-target"


def call(uri: str, method: str, path: str, body: dict | bytes | None = None, who: tuple[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if who:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{who[0]}:{who[1]}".encode()).decode()
    request = urllib.request.Request(f"{uri}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    handle = start_server(var_dir=tmp_path_factory.mktemp("auth-server"), extra_args=["--auth"], env=AUTH_ENV, timeout_s=180)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def registered(auth_server, tmp_path_factory, monkeypatch_module):
    """As the admin (the pipeline's MLFLOW_TRACKING_USERNAME/PASSWORD): a run with a bundle file, version 1 @champion."""
    import mlflow

    monkeypatch_module.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch_module.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = mlflow.MlflowClient(tracking_uri=auth_server.uri, registry_uri=auth_server.uri)
    exp = client.create_experiment("auth-check")
    run = client.create_run(exp)
    labels = tmp_path_factory.mktemp("bundle") / "labels.json"
    labels.write_text('{"0": "compliant", "1": "non-compliant"}')
    client.log_artifact(run.info.run_id, str(labels), artifact_path="bundle")
    client.create_registered_model(MODEL)
    client.create_model_version(MODEL, f"runs:/{run.info.run_id}/bundle", run_id=run.info.run_id, tags={"bundle_checksum": "a" * 64})
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.create_model_version(MODEL, f"runs:/{run.info.run_id}/bundle", run_id=run.info.run_id)
    monkeypatch_module.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch_module.delenv("MLFLOW_TRACKING_PASSWORD")
    return {"exp": exp, "run": run.info.run_id, "client": client}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _writes(registered) -> dict[str, tuple[str, str, object]]:
    artifact = f"/api/2.0/mlflow-artifacts/artifacts/{registered['exp']}/{registered['run']}/artifacts/bundle/labels.json"
    return {
        "move @champion": ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": MODEL, "alias": "champion", "version": "2"}),
        "overwrite a bundle file": ("PUT", artifact, b'{"0": "non-compliant", "1": "compliant"}'),
        "rewrite bundle_checksum": (
            "POST",
            "/api/2.0/mlflow/model-versions/set-tag",
            {"name": MODEL, "version": "1", "key": "bundle_checksum", "value": "b" * 64},
        ),
        "create a registered model": ("POST", "/api/2.0/mlflow/registered-models/create", {"name": "planted-model"}),
        "delete the registered model": ("DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": MODEL}),
    }


@pytest.mark.parametrize("who", [None, READER], ids=["no credentials", "read-only user"])
def test_writes_are_refused_without_write_credentials(auth_server, registered, who):
    refused = {name: call(auth_server.uri, method, path, body, who) for name, (method, path, body) in _writes(registered).items()}
    expected = 401 if who is None else 403
    assert refused == dict.fromkeys(refused, expected), refused
    with pytest.MonkeyPatch.context() as mp:  # nothing changed: the admin sees the registry as it was
        mp.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
        mp.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
        client = registered["client"]
        assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
        assert client.get_model_version(MODEL, "1").tags["bundle_checksum"] == "a" * 64
        assert [m.name for m in client.search_registered_models()] == [MODEL]


def test_the_reader_browses_and_anonymous_does_not(auth_server, registered):
    search = "/api/2.0/mlflow/registered-models/search"
    artifact = f"/api/2.0/mlflow-artifacts/artifacts/{registered['exp']}/{registered['run']}/artifacts/bundle/labels.json"
    assert call(auth_server.uri, "GET", search, who=READER) == 200
    assert call(auth_server.uri, "GET", artifact, who=READER) == 200
    assert call(auth_server.uri, "GET", search) == 401
    assert call(auth_server.uri, "GET", search, who=(READER[0], "wrong")) == 401
    assert "read-only user 'cc-reader' ready" in auth_server.log()


def test_beyond_loopback_the_server_refuses_to_start_without_credentials(tmp_path):
    empty = {name: "" for name in AUTH_ENV}
    result = run_cli("--check", "--host", "0.0.0.0", "--port", str(free_port()), "--var-dir", str(tmp_path), env=empty)
    assert_one_line_error(result, "beyond loopback", "MLFLOW_AUTH_ADMIN_PASSWORD")
    assert "no authentication" not in result.stdout


def test_loopback_without_auth_says_it_is_open(tmp_path):
    handle = start_server(var_dir=tmp_path, env={name: "" for name in AUTH_ENV}, timeout_s=180)
    try:
        assert "open: no authentication on loopback" in handle.log()
        assert call(handle.uri, "POST", "/api/2.0/mlflow/registered-models/create", {"name": "anyone"}) == 200
    finally:
        handle.stop()


def _registry_cli(uri: str, *args: str, who: tuple[str, str] | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    if who:
        env.update({"MLFLOW_TRACKING_USERNAME": who[0], "MLFLOW_TRACKING_PASSWORD": who[1]})
    cmd = [sys.executable, "-m", "ml", "registry", *args, "--tracking-uri", uri, "--model-name", MODEL]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**env, "PYTHONPATH": str(PROJECT_ROOT)}, cwd=PROJECT_ROOT)


def test_the_registry_cli_signs_in_with_the_tracking_credentials(auth_server, registered):
    """`python -m ml registry` authenticates through MLFLOW_TRACKING_USERNAME / _PASSWORD; without them it is refused."""
    status = _registry_cli(auth_server.uri, "status", "--json", who=READER)
    assert status.returncode == 0, status.stderr
    assert '"1"' in status.stdout or "champion" in status.stdout
    refused = _registry_cli(auth_server.uri, "status", who=None)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
    demoted = _registry_cli(auth_server.uri, "promote", "--version", "2", "--reason", "attacker", who=READER)
    assert demoted.returncode != 0 and "Traceback" not in demoted.stderr, demoted.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
        mp.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
        assert registered["client"].get_model_version_by_alias(MODEL, "champion").version == "1"


def test_artifact_listings_show_no_server_paths_and_need_sign_in(auth_server, registered):
    """Issue 11 item 6: MLflow's artifacts/list names the run's artifact root. Anonymous callers get 401; a
    signed-in reader sees the proxy's mlflow-artifacts: URI, never the server's folders."""
    listing = f"/api/2.0/mlflow/artifacts/list?run_id={registered['run']}&path=bundle"
    assert call(auth_server.uri, "GET", listing) == 401
    token = base64.b64encode(f"{READER[0]}:{READER[1]}".encode()).decode()
    request = urllib.request.Request(f"{auth_server.uri}{listing}", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=20) as resp:
        body = resp.read().decode()
    answer = json.loads(body)
    assert answer["root_uri"].startswith("mlflow-artifacts:/"), answer
    assert [f["path"] for f in answer["files"]] == ["bundle/labels.json"]
    server_folder = str(auth_server.pid_file.parent)
    assert server_folder not in body and str(PROJECT_ROOT) not in body and "file:" not in body, body
