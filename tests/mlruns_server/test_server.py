"""`python -m mlruns_server`: a real server start/stop, and the one-line refusals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from common.paths import PROJECT_ROOT
from common.processes import free_port
from mlruns_server import ServerConfig


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mlruns_server", *args], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=PROJECT_ROOT
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mlruns_server: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def get(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_server_answers_api_ui_and_its_service_name(server):
    assert get(f"{server.uri}/health") == 200
    assert get(f"{server.uri}/") == 200  # the UI
    assert get(f"{server.uri}/api/2.0/mlflow/experiments/search?max_results=1") == 200
    port = server.uri.rsplit(":", 1)[1]
    assert get(f"{server.uri}/health", host=f"mlflow:{port}") == 200  # compose service name
    assert get(f"{server.uri}/api/2.0/mlflow/experiments/search?max_results=1", host="evil.example.com") == 403


# DNS names that start like a private address: a rebinding attacker's names, which must never reach the API.
REBINDING_HOSTS = (
    "10.evil.example",
    "192.168.evil.example:5000",
    "172.16.rebind.example",
    "127.0.0.1.evil.example",
    "localhost.evil.example:5000",
    "mlflow.evil.example",
)
# Literal private addresses (a client on the compose network or the LAN) and exact names still get in.
LITERAL_HOSTS = ("10.1.2.3:5000", "10.0.0.1", "192.168.1.20:5000", "172.16.0.5", "172.31.255.254:5000", "[::1]:5000", "localhost")


@pytest.mark.parametrize("host", REBINDING_HOSTS)
def test_dns_names_that_look_like_private_addresses_are_refused(server, host):
    assert get(f"{server.uri}/api/2.0/mlflow/experiments/search?max_results=1", host=host) == 403


@pytest.mark.parametrize("host", LITERAL_HOSTS)
def test_literal_addresses_and_exact_names_are_answered(server, host):
    assert get(f"{server.uri}/api/2.0/mlflow/experiments/search?max_results=1", host=host) == 200


def test_allowed_hosts_takes_exact_names_only(tmp_path):
    result = run_cli(
        "--check", "--port", str(free_port()), "--var-dir", str(tmp_path), "--allowed-hosts", "mlflow.example.org,*.example.org"
    )
    assert_one_line_error(result, "'*.example.org'", "exact host names")
    assert ServerConfig(var_dir=tmp_path, allowed_hosts=("mlflow.example.org",)).all_allowed_hosts()[-2:] == [
        "mlflow.example.org",
        "mlflow.example.org:*",
    ]


def test_server_is_lean_and_uses_the_artifact_proxy(server):
    log = server.log()
    assert "huey" not in log.lower(), "MLflow's background job runner must stay off"
    children = subprocess.run(["pgrep", "-f", "huey_consumer"], capture_output=True, text=True).stdout.split()
    assert not [pid for pid in children if _descends_from(int(pid), server.pid)]
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=server.uri)
    exp = client.create_experiment("proxy-check")
    assert client.get_experiment(exp).artifact_location.startswith("mlflow-artifacts:")


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def test_pid_file_refuses_a_second_instance(server):
    assert int(server.pid_file.read_text()) == server.pid
    result = run_cli("--port", str(free_port()), "--var-dir", str(server.pid_file.parent), "--pid-file", str(server.pid_file))
    assert_one_line_error(result, "already running", str(server.pid))


def test_pid_and_url_files_lead_every_part_to_the_server_on_its_port(server):
    """The server runs on a free port, not 5000: the URL file beside the pid file is how the tracking-URI rule,
    monitoring's MLflow logging and the portal's `models:/` resolution find it with MLFLOW_TRACKING_URI unset."""
    from common.names import running_local_server, server_uri, tracking_uri
    from monitoring.jobs import JobConfig
    from webportal.env import load

    folder = server.pid_file.parent
    assert (folder / "server.url").read_text().strip() == server.uri
    assert running_local_server(folder) == server.uri
    env = {"MLFLOW_SERVER_VAR_DIR": str(folder)}
    assert tracking_uri(environ=env) == server_uri(environ=env) == server.uri
    assert JobConfig.from_env(env).tracking_uri == server.uri
    assert load({**env, "DEBUG": "1"}).mlflow_tracking_uri == server.uri
    assert server_uri(environ={**env, "MLFLOW_TRACKING_URI": "http://elsewhere:5000"}) == "http://elsewhere:5000"


def test_sigterm_stops_cleanly_and_removes_the_pid_file(server):
    from common.names import running_local_server, server_uri, tracking_uri

    port = int(server.uri.rsplit(":", 1)[1])
    os.kill(int(server.pid_file.read_text()), signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    assert not server.pid_file.exists()
    assert not (server.pid_file.parent / "server.url").exists()
    assert running_local_server(server.pid_file.parent) is None
    env = {"MLFLOW_SERVER_VAR_DIR": str(server.pid_file.parent)}  # no server: the rule falls back to its SQLite store
    assert server_uri(environ=env) is None
    assert tracking_uri(environ=env) == f"sqlite:///{(server.pid_file.parent / 'mlflow.db').resolve()}"
    assert "mlruns_server: stopped" in server.log()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # uvicorn's worker is gone too: the port is free again
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.2)
    else:
        pytest.fail(f"port {port} still answers after SIGTERM")


def test_port_taken_is_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_cli("--port", str(port), "--var-dir", str(tmp_path))
    assert_one_line_error(result, "already in use", str(port))


def test_unreachable_backend_is_one_line(tmp_path):
    result = run_cli(
        "--port", str(free_port()), "--var-dir", str(tmp_path), "--backend-store-uri", "postgresql://postgres:s3cret@127.0.0.1:1/mlflow"
    )
    assert_one_line_error(result, "unreachable")
    assert "s3cret" not in result.stderr  # the password is masked


@pytest.mark.postgres
def test_missing_postgres_database_is_one_line(tmp_path):
    result = run_cli(
        "--port",
        str(free_port()),
        "--var-dir",
        str(tmp_path),
        "--backend-store-uri",
        "postgresql://postgres@127.0.0.1:5432/no_such_db_for_mlflow",
    )
    assert_one_line_error(result, "unreachable", "does not exist")


def test_auth_needs_credentials_from_the_environment(tmp_path):
    env = {k: "" for k in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")}
    result = run_cli("--port", str(free_port()), "--var-dir", str(tmp_path), "--auth", env=env)
    assert_one_line_error(result, "MLFLOW_AUTH_ADMIN_PASSWORD")


def test_check_mode_validates_without_starting(tmp_path):
    result = run_cli("--check", "--port", str(free_port()), "--var-dir", str(tmp_path))
    assert result.returncode == 0 and "ok:" in result.stdout


def test_command_line_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_BACKEND_STORE_URI", raising=False)
    config = ServerConfig(var_dir=tmp_path, backend_store_uri="postgresql://u@db:5432/mlflow", auth=True)
    cmd = config.command()
    assert cmd[cmd.index("--backend-store-uri") + 1].startswith("postgresql+psycopg://")
    assert "--serve-artifacts" in cmd and cmd[cmd.index("--app-name") + 1] == "basic-auth"
    hosts = cmd[cmd.index("--allowed-hosts") + 1].split(",")
    assert {"mlflow", "mlflow:*", "localhost:*"} <= set(hosts)
    env = config.environment()
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false" and env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert env["MLFLOW_AUTH_CONFIG_PATH"].endswith("basic_auth.ini")
    default = ServerConfig(var_dir=tmp_path)
    assert default.backend_store_uri == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    assert default.pid_file == tmp_path / "server.pid"
