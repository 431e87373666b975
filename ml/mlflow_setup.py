"""MLflow set-up shared by training, the registry and the pipeline: a quiet environment, the fluent API
pointed at one server for a block, experiments (classic ML kind, local artifacts), and the git commit a run records.

Which server to use is decided by common.names.tracking_uri, not here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from common.names import CLASSIC_ML_KIND, EXPERIMENT_KIND_TAG
from common.paths import PROJECT_ROOT


def quiet_mlflow_environment() -> None:
    """No telemetry, no background job runner; set before mlflow is imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


@contextlib.contextmanager
def use_tracking(uri: str) -> Iterator[str]:
    """Point MLflow's fluent API (tracking and registry) at `uri` for a block, then restore exactly what was there.

    mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI to the environment, and get_*_uri() report resolved
    defaults, so a naive save/restore pins a server that may be gone by the time the next caller runs.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_tracking, saved_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(saved_tracking)
        registry_utils._registry_uri = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def classic_ml(client, experiment) -> str:
    """Make an existing experiment open in the MLflow UI's classic ML view (its kind tag); returns its id."""
    if experiment.tags.get(EXPERIMENT_KIND_TAG) != CLASSIC_ML_KIND:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, CLASSIC_ML_KIND)
    return experiment.experiment_id


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """Experiment id for `name`, creating it (classic ML kind, local artifacts beside a SQLite store) when missing."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            client.restore_experiment(existing.experiment_id)
        return classic_ml(client, existing)
    artifact_location = None
    if tracking_uri.startswith("sqlite:///"):
        artifacts = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        artifact_location = artifacts.resolve().as_uri()
    return client.create_experiment(name, artifact_location=artifact_location, tags={EXPERIMENT_KIND_TAG: CLASSIC_ML_KIND})


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
