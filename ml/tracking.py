"""Where MLflow writes by default, and small helpers shared by training and the registry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXPERIMENT = "component-compliance"
DEFAULT_MODEL_NAME = "component-compliance"


def default_store_dir() -> Path:
    return Path(os.environ.get("MLFLOW_LOCAL_DIR", PROJECT_ROOT / "var" / "mlflow"))


def default_tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store under the project (var/mlflow/mlflow.db)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store = default_store_dir()
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def quiet_mlflow_environment() -> None:
    """No telemetry, no background job runner; set before mlflow is imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """Experiment id for `name`, creating it (with local artifacts beside a SQLite store) when missing."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            client.restore_experiment(existing.experiment_id)
        return existing.experiment_id
    artifact_location = None
    if tracking_uri.startswith("sqlite:///"):
        artifacts = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        artifact_location = artifacts.resolve().as_uri()
    return client.create_experiment(name, artifact_location=artifact_location)


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """The checked-out commit, suffixed `-dirty` when tracked files changed; `unknown` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("GIT_COMMIT", "unknown")
    return f"{commit}-dirty" if dirty else commit
