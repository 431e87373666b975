"""`mlflow models serve` for the serving benchmark: started on a free loopback port, stopped by its own pid.

MlflowServe(model_uri, workers=2, env=..., log=path) starts it at once (`--env-manager local`, its uvicorn
workers); ready(timeout_s) waits for /ping and returns None, or the reason it failed with the end of its
log (it exited, or it did not answer in time: then it is stopped). Nothing here waits without a bound.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.processes import free_port


def serve_command(model_uri: str, *, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
            "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip


class MlflowServe:
    def __init__(self, model_uri: str, *, log: Path, workers: int = 2, env: dict[str, str] | None = None):
        self.model_uri = model_uri
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        full_env = {**os.environ, **(env or {})}
        # mlflow runs `exec uvicorn ...` through a shell: the interpreter's bin folder must be on PATH.
        full_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), full_env.get("PATH", "")])
        full_env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        self.started = time.perf_counter()
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                serve_command(model_uri, port=self.port, workers=workers),
                stdout=fh, stderr=subprocess.STDOUT, env=full_env, start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def ready(self, timeout_s: float = 120.0) -> str | None:
        """None once /ping answers; else why not (the process is stopped then), with the end of its log."""
        deadline = self.started + timeout_s
        while True:
            if self.proc.poll() is not None:
                return f"mlflow models serve exited with code {self.proc.returncode} during start-up; log:\n{self.log_tail()}"
            if self._answers():
                return None
            if time.perf_counter() >= deadline:
                self.stop()
                return f"mlflow models serve did not answer /ping within {timeout_s:.0f} s (stopped); log:\n{self.log_tail()}"
            time.sleep(0.2)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM to its process group (its own pid: the CLI, uvicorn and the workers), SIGKILL after timeout_s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout_s)
            except ProcessLookupError:
                pass
        # uvicorn's workers may outlive the CLI for a moment: end what is left of the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode
