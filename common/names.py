"""Names the parts agree on, and the one rule for which MLflow tracking server to talk to.

The rule (`tracking_uri`): an explicit URI, else MLFLOW_TRACKING_URI, else the local server that
`make run` / `python -m mlruns_server` started (found through its pid file), else the local server's
SQLite store read directly. Every caller (training, registry, pipeline, monitoring, the portal's
`models:/` resolution) uses it, so a command typed after `make run` talks to the running server.
"""

from __future__ import annotations

import os
from pathlib import Path

from common.paths import mlflow_dir
from common.processes import read_pid

MODEL_NAME = "component-compliance"  # the registered model
TRAINING_EXPERIMENT = "component-compliance"
GATE_EXPERIMENT = "model-gate"
LEDGER_EXPERIMENT = "model-promotions"
PIPELINE_EXPERIMENT = "pipeline"
MONITORING_EXPERIMENT = "monitoring"
CHAMPION, CHALLENGER = "champion", "challenger"
# Every experiment the project creates is a classic ML one: the tag MLflow 3's UI writes for "Machine learning"
# (its experiment-kind selector), not the GenAI traces view. NOTE_TAG is the description the UI shows.
EXPERIMENT_KIND_TAG, CLASSIC_ML_KIND = "mlflow.experimentKind", "custom_model_development"
NOTE_TAG = "mlflow.note.content"
ML_VIEW_QUERY = "workflowType=machine_learning"


def mlflow_ui_url(server: str, route: str = "/experiments") -> str:
    """A page of the MLflow UI on `server`, in its classic ML view (runs, models; not GenAI traces). MLflow 3.17's UI
    picks the view from this query, else from the browser's last choice (GenAI at first), not from the kind tag.
    A `server` that is no http(s) URL (a SQLite store) comes back unchanged."""
    if not server.startswith(("http://", "https://")):
        return server
    return f"{server.rstrip('/')}/#{route}?{ML_VIEW_QUERY}"


LOCAL_SERVER_HOST = "127.0.0.1"
LOCAL_SERVER_PORT = 5000
SERVER_PID_FILE = "server.pid"
SERVER_URL_FILE = "server.url"  # written beside the pid file by the supervisor: the URL it serves


def local_server_url(port: int = LOCAL_SERVER_PORT) -> str:
    return f"http://{LOCAL_SERVER_HOST}:{port}"


def running_local_server(folder: Path | None = None) -> str | None:
    """The URL of the local MLflow server whose pid file in `folder` names a live process, else None."""
    folder = Path(folder) if folder is not None else mlflow_dir()
    if read_pid(folder / SERVER_PID_FILE) is None:
        return None
    try:
        url = (folder / SERVER_URL_FILE).read_text().strip()
    except OSError:
        url = ""
    return url or local_server_url()


def local_store_uri(folder: Path | None = None) -> str:
    """The local server's SQLite backend, for reading runs while no server is up."""
    folder = Path(folder) if folder is not None else mlflow_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'mlflow.db').resolve()}"


def server_uri(explicit: str | None = None, environ: dict | None = None, *, folder: Path | None = None) -> str | None:
    """The rule without its last step: an explicit URI, else MLFLOW_TRACKING_URI, else the running local server
    (its pid file in `folder`, by default `mlflow_dir`); None when there is no server to talk to. For callers that
    need a server: the portal's REST resolution, monitoring's optional logging, the pipeline (it starts one)."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    if env.get("MLFLOW_TRACKING_URI", "").strip():
        return env["MLFLOW_TRACKING_URI"].strip()
    return running_local_server(folder if folder is not None else mlflow_dir(env))


def tracking_uri(explicit: str | None = None, environ: dict | None = None) -> str:
    """The tracking URI every part uses (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    return server_uri(explicit, env) or local_store_uri(mlflow_dir(env))
