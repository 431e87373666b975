"""The read-only user of an auth-enabled server: made (or its password updated) through MLflow's auth REST API
once the server answers. It holds no grants, so MLflow's default permission (READ) is all it gets."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

from mlruns_server.config import READER_ENV, ServerError


def _call(url: str, method: str, body: dict, admin: tuple[str, str]) -> int:
    token = base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method=method, headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def ensure_reader(base_url: str, environ: dict | None = None) -> str | None:
    """Create the MLFLOW_AUTH_READER_USERNAME user, or reset its password; the username, or None when unset."""
    env = os.environ if environ is None else environ
    username, password = (env.get(name, "") for name in READER_ENV)
    if not username:
        return None
    admin = (env["MLFLOW_AUTH_ADMIN_USERNAME"], env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    body = {"username": username, "password": password}
    status = _call(f"{base_url}/api/2.0/mlflow/users/create", "POST", body, admin)
    if status != 200:  # already there (a restart): the password in the environment wins
        status = _call(f"{base_url}/api/2.0/mlflow/users/update-password", "PATCH", body, admin)
    if status != 200:
        raise ServerError(f"could not create or update the read-only user {username!r} (HTTP {status})")
    return username
