"""`python -m mlruns_server`: pre-flight checks, pid file, the MLflow server as a child, clean stop on SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.names import SERVER_URL_FILE, mlflow_ui_url
from common.processes import pid_alive
from mlruns_server.config import ServerConfig, ServerError
from mlruns_server.preflight import (
    check_auth_database,
    check_auth_env,
    check_backend,
    check_port,
    masked,
    prepare_artifacts,
    write_auth_config,
)

STOP_GRACE_S = 20.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlruns_server",
        description="Start the MLflow tracking server and UI (SQLite + local artifacts under var/mlflow/ by default).",
    )
    p.add_argument("--host", help="interface to bind (default 127.0.0.1; env MLFLOW_SERVER_HOST)")
    p.add_argument("--port", type=int, help="port (default 5000; env MLFLOW_SERVER_PORT)")
    p.add_argument("--backend-store-uri", help="sqlite:///path.db or postgresql://user@host:5432/db (env MLFLOW_BACKEND_STORE_URI)")
    p.add_argument(
        "--artifacts-destination",
        help="where proxied artifacts are stored: a folder, or s3://BUCKET/PATH with $MLFLOW_S3_ENDPOINT_URL and the AWS_* "
        "credentials (env MLFLOW_ARTIFACTS_DESTINATION)",
    )
    p.add_argument(
        "--allowed-hosts",
        help="extra Host headers to answer, comma-separated exact names or addresses (added to localhost, 'mlflow', private IPs)",
    )
    p.add_argument("--workers", type=int, help="uvicorn worker processes (default 2; env MLFLOW_SERVER_WORKERS)")
    p.add_argument("--pid-file", type=Path, help="pid file (default var/mlflow/server.pid)")
    p.add_argument("--var-dir", type=Path, help="folder for the default database, artifacts, pid file (default var/mlflow)")
    p.add_argument(
        "--auth",
        action="store_true",
        help="MLflow basic auth (always on beyond loopback); needs MLFLOW_AUTH_ADMIN_USERNAME, MLFLOW_AUTH_ADMIN_PASSWORD, "
        "MLFLOW_FLASK_SERVER_SECRET_KEY; optional read-only user MLFLOW_AUTH_READER_USERNAME / _PASSWORD",
    )
    p.add_argument("--enable-jobs", action="store_true", help="start MLflow's background job runner (off: it costs ~1.5 GB)")
    p.add_argument("--check", action="store_true", help="run the pre-flight checks and exit")
    return p


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    hosts = tuple(h.strip() for h in (args.allowed_hosts or "").split(",") if h.strip()) or None
    return ServerConfig.from_env(
        host=args.host,
        port=args.port,
        backend_store_uri=args.backend_store_uri,
        artifacts_destination=args.artifacts_destination,
        allowed_hosts=hosts,
        workers=args.workers,
        pid_file=args.pid_file,
        auth=args.auth or None,
        enable_jobs=args.enable_jobs or None,
        var_dir=args.var_dir,
    )


def url_file(pid_file: Path) -> Path:
    """Beside the pid file: the URL the server answers on, so other commands find it on any port."""
    return pid_file.with_name(SERVER_URL_FILE)


def claim_pid_file(path: Path, url: str) -> None:
    """Write our pid (refusing when another live server holds the file) and the URL we serve beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        try:
            old = int(path.read_text().strip() or 0)
        except ValueError:
            old = 0
        if old and old != os.getpid() and pid_alive(old):
            raise ServerError(f"a server is already running with pid {old} (pid file {path}); stop it with: kill {old}")
    url_file(path).write_text(f"{url}\n")
    path.write_text(f"{os.getpid()}\n")


def release_pid_file(path: Path) -> None:
    """Remove the pid file and the URL file, if the pid file is still ours."""
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text().strip() or 0) == os.getpid():
            url_file(path).unlink(missing_ok=True)
            path.unlink()


def _die_with_parent() -> None:
    """Linux: the MLflow server gets SIGTERM if this supervisor is killed outright."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _ensure_reader(config: ServerConfig) -> None:
    if not config.needs_auth:
        return
    from mlruns_server.users import ensure_reader

    try:
        if name := ensure_reader(config.url):
            print(f"mlruns_server: read-only user {name!r} ready", flush=True)
    except ServerError as exc:
        print(f"mlruns_server: warning: {exc}", file=sys.stderr, flush=True)


def preflight(config: ServerConfig) -> None:
    config.all_allowed_hosts()  # refuses patterns in --allowed-hosts
    check_auth_env(config)
    check_port(config.host, config.port)
    check_backend(config)
    check_auth_database(config)
    prepare_artifacts(config)


def serve(config: ServerConfig) -> int:
    preflight(config)
    claim_pid_file(config.pid_file, config.url)
    if config.needs_auth:
        write_auth_config(config)
    else:
        note = "anyone on this machine may write the registry; --auth turns it on"
        print(f"mlruns_server: open: no authentication on loopback {config.url} ({note})", flush=True)
    stopping = {"signal": None}
    child = subprocess.Popen(config.command(), env=config.environment(), start_new_session=True, preexec_fn=_die_with_parent)

    def forward(signum, _frame):
        stopping["signal"] = signum
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    print(
        f"mlruns_server: starting MLflow on {config.url} (backend {masked(config.backend_store_uri)}, "
        f"artifacts {config.artifacts_destination}, pid {os.getpid()})",
        flush=True,
    )
    try:
        announced = False
        while child.poll() is None:
            if not announced and stopping["signal"] is None and _healthy(config.url):
                print(
                    f"mlruns_server: MLflow UI ready at {mlflow_ui_url(config.url)}" + (" (basic auth)" if config.needs_auth else ""),
                    flush=True,
                )
                announced = True
                _ensure_reader(config)
            time.sleep(0.5 if not announced else 1.0)
            if stopping["signal"] is not None:
                try:
                    child.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                break
        code = child.returncode
    finally:
        release_pid_file(config.pid_file)
    if stopping["signal"] is not None:
        print("mlruns_server: stopped", flush=True)
        return 0
    if not announced:
        print(f"mlruns_server: error: MLflow server exited during start-up with code {code} (see its log above)", file=sys.stderr)
    else:
        print(f"mlruns_server: MLflow server exited with code {code}", file=sys.stderr)
    return code or 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        if args.check:
            preflight(config)
            print(f"mlruns_server: ok: {config.url} is free and {masked(config.backend_store_uri)} is reachable")
            return 0
        return serve(config)
    except ServerError as exc:
        print(f"mlruns_server: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
