"""MLflow's basic auth, plus read-only users (runs inside the MLflow server; named in basic_auth.ini).

MLflow lets every signed-in user create experiments and registered models (its permissions guard only what
exists). The users named in MLFLOW_AUTH_READER_USERNAME (comma-separated) may only read: GET/HEAD, and the POST
searches the UI uses. Anything else is answered 403 before MLflow's own checks run."""

from __future__ import annotations

import os

from flask import make_response, request
from mlflow.server.auth import authenticate_request_basic_auth

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _readers() -> frozenset[str]:
    return frozenset(n.strip() for n in os.environ.get("MLFLOW_AUTH_READER_USERNAME", "").split(",") if n.strip())


def _is_read(method: str, path: str) -> bool:
    return method in READ_METHODS or (method == "POST" and path.rstrip("/").endswith("/search"))


def authenticate_request():
    authorization = authenticate_request_basic_auth()
    username = getattr(authorization, "username", None)
    if username in _readers() and not _is_read(request.method, request.path):
        return make_response(f"user {username!r} is read-only", 403)
    return authorization
