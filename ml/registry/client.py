"""MLflow clients for the registry, MLflow's fluent API pointed at one server for a block, and experiments.

Which server: common.names.tracking_uri (an explicit URI, else MLFLOW_TRACKING_URI, else the local server
or its store). mlflow is imported inside functions: importing this module is free.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from common import names
from common.names import CLASSIC_ML_KIND, EXPERIMENT_KIND_TAG, NOTE_TAG


def get_client(tracking_uri: str | None = None):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = names.tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextlib.contextmanager
def fluent_api_at(tracking_uri: str | None) -> Iterator[str]:
    """Point MLflow's fluent API (load_model, download_artifacts) at one server for the block; yields its URI."""
    from ml.mlflow_setup import use_tracking

    with use_tracking(names.tracking_uri(tracking_uri)) as uri:
        yield uri


def local_artifact_location(tracking_uri: str | None) -> str | None:
    """Without a server (a sqlite:/// store), keep artifacts beside the database, as ml.mlflow_setup does, not in ./mlruns."""
    if tracking_uri and tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        return folder.resolve().as_uri()
    return None


def experiment_id(
    client, name: str, *, note: str, tracking_uri: str | None = None, create: bool = True, restore_deleted: bool = False
) -> str | None:
    """The id of experiment `name`, created with `note` when missing (None when missing and not `create`). It
    opens in the MLflow UI's classic ML view, also when it was created before the project set its kind."""
    from mlflow.exceptions import MlflowException

    from ml.mlflow_setup import classic_ml

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if restore_deleted and exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return classic_ml(client, exp) if create else exp.experiment_id
    if not create:
        return None
    tags = {NOTE_TAG: note, EXPERIMENT_KIND_TAG: CLASSIC_ML_KIND}
    try:
        return client.create_experiment(name, artifact_location=local_artifact_location(tracking_uri), tags=tags)
    except MlflowException:
        exp = client.get_experiment_by_name(name)  # created concurrently
        if exp is None:
            raise
        return exp.experiment_id


def needs_server(client, tracking_uri: str, experiment: str) -> str | None:
    """Why `experiment` cannot be written through `tracking_uri`, or None. Read straight from its SQLite store
    (no server running), an experiment the server created keeps `mlflow-artifacts:` locations that only the
    server can write: say so before anything is written, rather than fail half-way."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    exp = client.get_experiment_by_name(experiment)
    if exp is None or not str(exp.artifact_location).startswith("mlflow-artifacts:"):
        return None
    return (
        f"the MLflow tracking server is not running (read {tracking_uri} directly), and experiment {experiment!r} keeps its "
        "artifacts on the server; start it with `make mlflow` (or pass --tracking-uri)"
    )
