"""Start `python -m mlruns_server` as a background process and wait until it answers (tests, benches, pipeline)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from common.names import SERVER_PID_FILE
from common.paths import PROJECT_ROOT
from common.processes import free_port


@dataclass
class ServerHandle:
    process: subprocess.Popen
    uri: str
    pid_file: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, tail_chars: int = 20_000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail_chars:]
        except OSError:
            return ""

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout_s: float = 90.0) -> ServerHandle:
        """Block until /health answers; RuntimeError (carrying the log) if the server exits or never answers."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"MLflow server exited with code {self.process.returncode} during start-up; log:\n{self.log()}")
            if self.healthy():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"MLflow server did not answer within {timeout_s:.0f} s; log:\n{self.log()}")

    def terminate(self) -> None:
        """SIGTERM to the pid in the pid file (the supervisor) without waiting: stop several servers at once."""
        if self.process.poll() is None:
            pid = self.process.pid
            with contextlib.suppress(OSError, ValueError):
                pid = int(self.pid_file.read_text().strip())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM to the supervisor, then wait; returns its exit code."""
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    *,
    var_dir: str | Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    backend_store_uri: str | None = None,
    workers: int = 1,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 90.0,
    wait: bool = True,
) -> ServerHandle:
    """Start a server whose data, pid file and log live in var_dir.

    With wait (default) block until it answers, raising RuntimeError (with the log) if it never does;
    without, return at once and call `handle.wait_ready()` later (start it, do other work meanwhile).
    """
    var_dir = Path(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    pid_file = var_dir / SERVER_PID_FILE
    log_path = var_dir / "server.log"
    cmd = [sys.executable, "-m", "mlruns_server", "--host", host, "--port", str(port), "--workers", str(workers)]
    cmd += ["--var-dir", str(var_dir), "--pid-file", str(pid_file)]
    if backend_store_uri:
        cmd += ["--backend-store-uri", backend_store_uri]
    cmd += extra_args or []
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), full_env.get("PYTHONPATH")]))
    with log_path.open("ab") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=var_dir)
    handle = ServerHandle(process=process, uri=f"http://{host}:{port}", pid_file=pid_file, log_path=log_path)
    return handle.wait_ready(timeout_s) if wait else handle
