"""Pipeline settings: explicit values with local defaults (embedded SQLite, files under var/)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from common.names import MODEL_NAME, local_server_url, server_uri
from common.paths import PROJECT_ROOT

STAGES = ("data", "train", "evaluate", "register", "gate", "package", "deploy", "smoke")


@dataclass(frozen=True)
class Environment:
    """One deployed portal: its own port, database, model directory, releases and processes."""

    name: str
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.root / 'portal.sqlite3'}"

    @property
    def pid_file(self) -> Path:
        return self.root / "gunicorn.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "gunicorn.log"

    @property
    def app_link(self) -> Path:
        """A symlink to the served release's app/: gunicorn runs from it, so a reload picks up the new code."""
        return self.root / "app"

    @property
    def state_file(self) -> Path:
        return self.root / "current.json"

    def secret(self, name: str) -> str:
        """A per-environment secret kept under var/ (never in the repo), made once."""
        path = self.root / f".{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(40))
            path.chmod(0o600)
        return path.read_text().strip()


@dataclass
class PipelineConfig:
    var: Path = PROJECT_ROOT / "var"
    data: Path | None = None  # a user CSV; generated when None
    rows: int = 100_000
    seed: int = 7
    model_type: str = "cnn"
    epochs: int | None = None
    batch_size: int = 256
    tracking_uri: str | None = None  # None: start or reuse the local MLflow server
    mlflow_port: int = 5000
    model_name: str = MODEL_NAME
    gate_config: Path | None = None
    staging_port: int = 8001
    production_port: int = 8000
    require_approval: bool = False
    approval_timeout_s: float = 3600.0
    demo_password: str | None = None
    workers: int = 2
    actor: str | None = None
    portal_env: dict = field(default_factory=dict)  # extra environment for the portal processes
    app_source: Path = PROJECT_ROOT  # where the deployed app code (manage.py, webportal/, ml/) is copied from
    # "local": gunicorn portals started here (staging, then production); "compose": the bundle goes to the
    # shared MODEL_DIR that the compose portal replicas poll, and PORTAL_URL is smoke-tested.
    target: str = field(default_factory=lambda: os.environ.get("PIPELINE_DEPLOY_TARGET", "local"))

    @property
    def pipeline_dir(self) -> Path:
        return self.var / "pipeline"

    @property
    def local_tracking_uri(self) -> str:
        return local_server_url(self.mlflow_port)

    @property
    def resolved_tracking_uri(self) -> str:
        """The tracking-URI rule (common.names) over this pipeline's own MLflow folder; without any server the
        local target starts one on mlflow_port, and compose talks to its `mlflow` service."""
        explicit = self.tracking_uri or os.environ.get("PIPELINE_TRACKING_URI")
        found = server_uri(explicit, folder=self.var / "mlflow")
        if found:
            return found
        return "http://mlflow:5000" if self.target == "compose" else self.local_tracking_uri

    @property
    def starts_local_mlflow(self) -> bool:
        return self.resolved_tracking_uri == self.local_tracking_uri

    @property
    def compose_model_dir(self) -> Path:
        return Path(os.environ.get("MODEL_DIR", "/models/current"))

    @property
    def compose_portal_url(self) -> str:
        return os.environ.get("PORTAL_URL", "http://portal:8000")

    def environments(self) -> list[Environment]:
        return [
            Environment("staging", self.staging_port, self.var / "deploy" / "staging"),
            Environment("production", self.production_port, self.var / "deploy" / "production"),
        ]

    def password(self) -> str:
        if self.demo_password:
            return self.demo_password
        if os.environ.get("PORTAL_DEMO_PASSWORD"):
            return os.environ["PORTAL_DEMO_PASSWORD"]
        path = self.var / "deploy" / ".demo_password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        return path.read_text().strip()
