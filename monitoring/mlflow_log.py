"""Monitoring metrics to MLflow (experiment `monitoring`), tagged with the served model version.

mlflow is imported only when a tracking URI is given. A tracking server that is down must not cost the
report: callers catch TrackingError, warn, and keep the files and the database row.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from common.names import CLASSIC_ML_KIND, EXPERIMENT_KIND_TAG


class TrackingError(RuntimeError):
    pass


@contextlib.contextmanager
def _fail_fast() -> Iterator[None]:
    """MLflow retries HTTP calls for minutes by default; a monitoring job should give up in seconds."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_DISABLE_TELEMETRY": "true"}
    saved = {k: os.environ.get(k) for k in wanted}
    for k, v in wanted.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)


def _preflight(uri: str, timeout_s: float) -> None:
    if not uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=timeout_s).raise_for_status()
    except requests.RequestException as exc:
        raise TrackingError(f"MLflow tracking server {uri} is not reachable: {exc}") from exc


def _experiment_id(client, experiment: str) -> str:
    """The experiment's id, created when missing; either way it opens in the MLflow UI's classic ML view."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return client.create_experiment(experiment, tags={EXPERIMENT_KIND_TAG: CLASSIC_ML_KIND})
    if found.tags.get(EXPERIMENT_KIND_TAG) != CLASSIC_ML_KIND:
        client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, CLASSIC_ML_KIND)
    return found.experiment_id


def log_run(
    *,
    tracking_uri: str,
    experiment: str,
    run_name: str,
    tags: dict[str, str],
    metrics: dict[str, float],
    artifacts: list[Path],
    timeout_s: float = 3.0,
) -> dict:
    """One MLflow run with metrics, tags and artifact files; returns {"run_id", "experiment_id"}."""
    _preflight(tracking_uri, timeout_s)
    with _fail_fast():
        try:
            from mlflow.entities import Metric, RunTag
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=tracking_uri)
            experiment_id = _experiment_id(client, experiment)
            run = client.create_run(experiment_id, run_name=run_name, tags=tags)
            run_id = run.info.run_id
            stamp = int(time.time() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), stamp, 0) for k, v in metrics.items() if v is not None],
                tags=[RunTag(k, str(v)) for k, v in tags.items()],
            )
            for path in artifacts:
                if path and Path(path).is_file():
                    client.log_artifact(run_id, str(path))
            client.set_terminated(run_id)
        except Exception as exc:  # mlflow raises many types (MlflowException, requests, OSError)
            raise TrackingError(f"MLflow logging to {tracking_uri} failed: {exc}") from exc
    return {"run_id": run_id, "experiment_id": experiment_id}
