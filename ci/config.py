"""Pipeline settings: plain data with local defaults (embedded SQLite, files under var/), read from the
environment once, by `PipelineConfig.from_env`. Nothing here reads the environment later or writes a file,
except the two `ensure_*` functions, which say so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from common.names import MODEL_NAME, SERVER_PID_FILE, local_server_url, server_uri
from common.paths import PROJECT_ROOT, environment_dir, environment_settings, pipeline_var_dir

# Ports from the environment, so every `python -m ci` command of one stack agrees without repeating flags.
PORT_VARIABLES = {
    "staging_port": "PIPELINE_STAGING_PORT",
    "production_port": "PIPELINE_PRODUCTION_PORT",
    "mlflow_port": "PIPELINE_MLFLOW_PORT",
}


@dataclass(frozen=True)
class Environment:
    """One deployed portal: its own port, database, model directory, releases and processes."""

    name: str
    port: int
    var: Path  # the pipeline's state folder; the environment lives in <var>/deploy/<name> (common.paths)

    @property
    def root(self) -> Path:
        return environment_dir(self.name, self.var)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def model_dir(self) -> Path:
        return Path(environment_settings(self.name, self.var)["MODEL_DIR"])

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def database_url(self) -> str:
        return environment_settings(self.name, self.var)["DATABASE_URL"]

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

    def ensure_secret(self, name: str) -> str:
        """A per-environment secret kept under var/ (never in the repo): made on first use, then read."""
        return _ensure_token(self.root / f".{name}", 40)


@dataclass
class PipelineConfig:
    var: Path = PROJECT_ROOT / "var"
    data: Path | None = None  # a user CSV; generated when None
    rows: int = 100_000
    seed: int = 7
    model_type: str = "cnn"
    epochs: int | None = None
    batch_size: int = 256
    tracking_uri: str | None = None  # None: the local MLflow server on mlflow_port (started when it is down)
    mlflow_port: int = 5000
    model_name: str = MODEL_NAME
    gate_config: Path | None = None
    corrections_database_url: str | None = None  # reviewed labels from here (None: the local production portal's)
    corrections_weight: int = 10  # each correction repeated this many times in the training data
    staging_port: int = 8001
    production_port: int = 8000
    require_approval: bool = False
    approval_timeout_s: float = 3600.0
    demo_password: str | None = None  # None: the one kept in var/deploy/.demo_password (ensure_demo_password)
    workers: int = 2
    actor: str | None = None
    portal_env: dict = field(default_factory=dict)  # extra environment for the portal processes
    app_source: Path = PROJECT_ROOT  # where the deployed app code (manage.py, common/, webportal/, ml/) is copied from
    target: str = "local"  # the deploy target (ci.targets): local | compose | k8s
    compose_model_dir: Path = Path("/models/current")  # compose: the shared volume the portal replicas poll
    compose_portal_url: str = "http://portal:8000"  # compose: the portal service the smoke test signs in to
    k8s_context: str | None = None  # k8s: the kubectl context (cluster) to deploy to
    k8s_overlays: tuple[str, ...] = ("staging", "production")  # k8s: deploy/k8s overlays, in order
    k8s_dir: Path = PROJECT_ROOT / "deploy" / "k8s"
    k8s_portal_image: str = "compliance-portal:latest"  # k8s: the portal image the release runs (a registry reference)
    k8s_kubectl: str = "kubectl"
    k8s_timeout_s: int = 600  # k8s: per migration, rollout and rollback wait

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> PipelineConfig:
        """Defaults, then the environment (read here only), then `overrides` that are not None.

        PIPELINE_VAR_DIR moves the state folder and PIPELINE_STAGING_PORT / PIPELINE_PRODUCTION_PORT / PIPELINE_MLFLOW_PORT
        the ports. PIPELINE_DEPLOY_TARGET picks the target; PORTAL_DEMO_PASSWORD the demo users' password; MODEL_DIR and
        PORTAL_URL the compose target's volume and portal; PIPELINE_K8S_CONTEXT and PIPELINE_K8S_PORTAL_IMAGE the
        k8s target's cluster and image; PIPELINE_CORRECTIONS_DATABASE_URL / PIPELINE_CORRECTIONS_WEIGHT where the
        reviewed labels come from and their weight (ci.corrections_export). The tracking URI follows the one rule
        (common.names.server_uri) over this pipeline's MLflow folder: --tracking-uri or PIPELINE_TRACKING_URI,
        else MLFLOW_TRACKING_URI, else the local server running from var/mlflow; else the target's default
        (local: start one on mlflow_port; compose: its `mlflow` service).
        """
        from ci.targets import target_class

        env = os.environ if environ is None else environ
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"PipelineConfig has no setting {', '.join(sorted(unknown))}")
        ports = {name: int(env[var]) for name, var in PORT_VARIABLES.items() if str(env.get(var, "")).strip()}
        values = {
            **ports,
            "var": pipeline_var_dir(env),
            "target": env.get("PIPELINE_DEPLOY_TARGET") or "local",
            "demo_password": env.get("PORTAL_DEMO_PASSWORD") or None,
            "compose_model_dir": Path(env.get("MODEL_DIR") or "/models/current"),
            "compose_portal_url": env.get("PORTAL_URL") or "http://portal:8000",
            "k8s_context": env.get("PIPELINE_K8S_CONTEXT") or None,
            "k8s_portal_image": env.get("PIPELINE_K8S_PORTAL_IMAGE") or "compliance-portal:latest",
            "corrections_database_url": env.get("PIPELINE_CORRECTIONS_DATABASE_URL") or None,
            **({"corrections_weight": int(env["PIPELINE_CORRECTIONS_WEIGHT"])} if env.get("PIPELINE_CORRECTIONS_WEIGHT") else {}),
            **given,
        }
        target = target_class(values["target"])
        explicit = values.get("tracking_uri") or env.get("PIPELINE_TRACKING_URI")
        folder = Path(values["var"]) / "mlflow"
        values["tracking_uri"] = server_uri(explicit, env, folder=folder) or target.default_tracking_uri
        return cls(**values)

    @property
    def pipeline_dir(self) -> Path:
        return self.var / "pipeline"

    @property
    def local_tracking_uri(self) -> str:
        return local_server_url(self.mlflow_port)

    @property
    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or self.local_tracking_uri

    @property
    def starts_local_mlflow(self) -> bool:
        return self.resolved_tracking_uri == self.local_tracking_uri

    @property
    def mlflow_pid_file(self) -> Path:
        return self.var / "mlflow" / SERVER_PID_FILE

    def environments(self) -> list[Environment]:
        return [
            Environment("staging", self.staging_port, self.var),
            Environment("production", self.production_port, self.var),
        ]


def ensure_demo_password(config: PipelineConfig) -> str:
    """The demo users' password: config.demo_password, else the one generated into var/deploy/.demo_password
    the first time a pipeline needs it (kept there, mode 600, never in the repo)."""
    return config.demo_password or _ensure_token(config.var / "deploy" / ".demo_password", 12)


def _ensure_token(path: Path, size: int) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(size))
        path.chmod(0o600)
    return path.read_text().strip()
