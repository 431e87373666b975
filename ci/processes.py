"""Starting and stopping the local servers the pipeline deploys: MLflow and gunicorn, tracked by pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from ci.config import Environment, PipelineConfig, ensure_demo_password
from common.paths import environment_settings
from common.processes import child_pids, read_pid


class DeployError(RuntimeError):
    """A server did not start, or a deploy step failed; the message names the step and points at the log."""


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def wait_for(url: str, *, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url):
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise DeployError(f"{url} did not answer within {timeout:.0f}s" + (f"; last log lines:\n{tail}" if tail else ""))


def wait_for_version(url: str, version: str, *, timeout: float, health_token: str | None = None) -> None:
    """Poll a portal's /healthz until it serves model `version` (each worker polls its MODEL_DIR). The version is
    in the details: health_token, else $HEALTH_TOKEN, must be the portal's HEALTH_TOKEN."""
    from ci.smoke import health_headers

    headers = health_headers(health_token)
    if not headers:
        raise DeployError(f"cannot see which model {url} serves: set HEALTH_TOKEN (the portal's) for the pipeline")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = requests.get(f"{url}/healthz", headers=headers, timeout=3).json()
            if str(body.get("model_version")) == version and body.get("model_loaded"):
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise DeployError(f"{url} did not serve model version {version} within {timeout:.0f}s")


def stop_pid_file(pid_file: Path, *, timeout: float = 20.0) -> bool:
    """SIGTERM the process named by pid_file, wait, SIGKILL if needed. True when something was stopped."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_pid(pid_file) is None or not _alive(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def ensure_mlflow(config: PipelineConfig) -> str:
    """Reuse a tracking server answering on the configured port, or start `python -m mlruns_server` there."""
    uri = config.local_tracking_uri
    if http_ok(f"{uri}/health"):
        return uri
    store = config.var / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    log = store / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlruns_server", "--host", "127.0.0.1", "--port", str(config.mlflow_port), "--var-dir", str(store)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the pipeline: `make stop` ends it through its pid file
        )
    wait_for(f"{uri}/health", timeout=90, process=process, log=log)
    print(f"tracking server {uri} started: open (no authentication) because it listens on loopback only", flush=True)
    return uri


def portal_environment(config: PipelineConfig, env: Environment, app_dir: Path) -> dict[str, str]:
    values = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webportal.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": env.ensure_secret("secret_key"),
        "HEALTH_TOKEN": env.ensure_secret("health_token"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{env.port},http://localhost:{env.port}",
        "DATABASE_URL": env.database_url,
        "MODEL_DIR": str(env.model_dir),
        "MODEL_URI": "",
        "MODEL_POLL_SECONDS": "2",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "REPORTS_DIR": environment_settings(env.name, config.var)["REPORTS_DIR"],
        "PORTAL_VAR_DIR": str(env.root),
        "PORTAL_DEMO_PASSWORD": ensure_demo_password(config),
        "PORTAL_ENVIRONMENT": env.name,
        "PYTHONPATH": str(app_dir),
        **config.portal_env,
    }
    return values


def manage(config: PipelineConfig, env: Environment, app_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=app_dir,
        env=portal_environment(config, env, app_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise DeployError(f"{env.name}: manage.py {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def point_app_link(env: Environment, app_dir: Path) -> None:
    """Atomically make env.app_link point at app_dir."""
    tmp = env.app_link.with_name(env.app_link.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path(app_dir).resolve(), target_is_directory=True)
    tmp.replace(env.app_link)


def start_portal(config: PipelineConfig, env: Environment, app_dir: Path) -> int:
    """Start gunicorn for env serving the release app_dir (stopping what ran before); wait for /healthz.
    gunicorn runs from env.app_link, never from the release folder itself, so reload_portal can switch code."""
    stop_pid_file(env.pid_file)
    env.root.mkdir(parents=True, exist_ok=True)
    point_app_link(env, app_dir)
    link = env.app_link
    command = [
        *_gunicorn(),
        "webportal.wsgi",
        "--chdir",
        str(link),
        "--bind",
        f"127.0.0.1:{env.port}",
        "--workers",
        str(config.workers),
        "--pid",
        str(env.pid_file),
        "--no-control-socket",
        "--config",
        "python:webportal.gunicorn_conf",
        "--preload",
        "--timeout",
        "180",  # a 100,000-row CSV import runs inside its upload request
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
    ]
    environment = {**portal_environment(config, env, link), "PWD": str(link)}  # gunicorn re-executes from $PWD
    with env.log_file.open("ab") as out:
        process = subprocess.Popen(command, cwd=link, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(f"{env.url}/healthz", timeout=60, process=process, log=env.log_file)
    return process.pid


def reload_portal(config: PipelineConfig, env: Environment, app_dir: Path, *, timeout: float = 90.0) -> int:
    """Serve the release app_dir from the running portal without dropping a request: point env.app_link at it,
    have gunicorn start a second master from the link (SIGUSR2: it shares the listening socket and loads the
    new code), wait for its workers, then stop the old master gracefully (it finishes the requests it holds).
    A new master that does not come up leaves the old one serving: the link goes back and DeployError says why.
    Returns the serving master's pid."""
    old = read_pid(env.pid_file)
    if old is None or not env.app_link.is_symlink():
        return start_portal(config, env, app_dir)  # nothing running, or started before app links existed
    before = os.readlink(env.app_link)
    point_app_link(env, app_dir)
    second = Path(f"{env.pid_file}.2")  # where gunicorn's new master writes its pid until the old one exits
    second.unlink(missing_ok=True)
    os.kill(old, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    new = None
    while time.monotonic() < deadline:
        new = read_pid(second)
        if new is not None and len(child_pids(new)) >= config.workers and http_ok(f"{env.url}/healthz"):
            break
        time.sleep(0.2)
    else:
        if new is not None:
            os.kill(new, signal.SIGTERM)
        point_app_link(env, Path(before))
        tail = env.log_file.read_text(errors="replace")[-3000:] if env.log_file.exists() else ""
        raise DeployError(f"{env.name}: the new gunicorn master did not start within {timeout:.0f}s; still serving the old app:\n{tail}")
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(old) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(old):
        os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10  # the new master renames its pid file once its parent is gone
    while read_pid(env.pid_file) != new and time.monotonic() < deadline:
        time.sleep(0.2)
    if read_pid(env.pid_file) != new:
        env.pid_file.write_text(f"{new}\n")
        second.unlink(missing_ok=True)
    return new


def _gunicorn() -> list[str]:
    """gunicorn's console script next to this Python: a SIGUSR2 re-exec repeats sys.argv, and with `-m gunicorn`
    that would run gunicorn/__main__.py as a script, whose folder then shadows the standard library."""
    script = Path(sys.executable).parent / "gunicorn"
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "gunicorn"]
