"""Resolve `models:/<name>@<alias>` (or `models:/<name>/<version>`) through the MLflow tracking server's
REST API with plain HTTP, and cache the version's inference bundle locally.

The bundle lives under the version's run artifacts at `bundle/` (docs/contracts.md). Nothing here imports
mlflow: the web process must stay free of it.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from ml.bundle import BUNDLE_FILES, OPTIONAL_FILES, BundleError, check_bundle
from webportal.portal.bundle_trust import UntrustedBundle, verify_bundle

BUNDLE_ARTIFACT_DIR = "bundle"
_URI_RE = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w.-]+)|/(?P<version>\d+))$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ResolveError(RuntimeError):
    """The tracking server could not be reached or did not know the model; the message says which step.
    `status` is the HTTP status the server answered with, None when it could not be reached."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ResolvedBundle:
    path: Path
    name: str
    version: str
    run_id: str


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    match = _URI_RE.match(uri.strip())
    if not match:
        raise ResolveError(f"MODEL_URI {uri!r} is not of the form models:/<name>@<alias> or models:/<name>/<version>")
    return match["name"], match["alias"], match["version"]


class MlflowRest:
    def __init__(self, tracking_uri: str, *, auth: tuple[str, str] | None = None, token: str = "", timeout: float = 15.0):
        if not tracking_uri.startswith(("http://", "https://")):
            raise ResolveError(f"MLFLOW_TRACKING_URI must be an http(s) URL of a tracking server, not {tracking_uri!r}")
        self.base = tracking_uri.rstrip("/")
        self.session = requests.Session()
        if auth:
            self.session.auth = auth
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _request(self, method: str, path: str, *, what: str, stream: bool = False, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=self.timeout, stream=stream, **kwargs)
        except requests.RequestException as exc:
            raise ResolveError(f"tracking server {self.base} unreachable: {exc}") from exc
        if response.status_code != 200:
            detail = response.text[:300] if not stream else ""
            raise ResolveError(f"{method} {what} answered {response.status_code}: {detail}", status=response.status_code)
        return response

    def _get(self, path: str, params: dict, *, stream: bool = False) -> requests.Response:
        return self._request("GET", path, what=f"{path} {params}", params=params, stream=stream)

    def _post(self, path: str, body: dict) -> requests.Response:
        return self._request("POST", path, what=path, json=body)

    def experiment_by_name(self, name: str) -> dict | None:
        try:
            return self._get("/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name}).json().get("experiment")
        except ResolveError as exc:
            if exc.status == 404:
                return None
            raise

    def search_runs(self, experiment_id: str, filter_string: str) -> list[dict]:
        runs, token = [], None
        while True:
            body = {"experiment_ids": [experiment_id], "filter": filter_string, "max_results": 1000}
            page = self._post("/api/2.0/mlflow/runs/search", {**body, **({"page_token": token} if token else {})}).json()
            runs += page.get("runs") or []
            token = page.get("next_page_token")
            if not token:
                return runs

    def model_version(self, name: str, *, alias: str | None = None, version: str | None = None) -> dict:
        if alias:
            data = self._get("/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias}).json()
        else:
            data = self._get("/api/2.0/mlflow/model-versions/get", {"name": name, "version": version}).json()
        mv = data.get("model_version") or {}
        if not mv.get("version"):
            raise ResolveError(f"tracking server returned no model version for {name} {alias or version}")
        return mv

    def download_artifact(self, *, run_id: str, path: str, dest: Path) -> None:
        response = self._get("/get-artifact", {"run_id": run_id, "path": path}, stream=True)
        with dest.open("wb") as fh:
            for block in response.iter_content(1 << 20):
                fh.write(block)


def resolve_bundle(*, uri: str, tracking_uri: str, cache_dir: Path, auth: tuple[str, str] | None = None, token: str = "") -> ResolvedBundle:
    """Find the model version behind `uri`, download its bundle once into `cache_dir`, return its folder."""
    name, alias, version = parse_model_uri(uri)
    client = MlflowRest(tracking_uri, auth=auth, token=token)
    mv = client.model_version(name, alias=alias, version=version)
    run_id = mv.get("run_id") or ""
    if not run_id:
        raise ResolveError(f"model version {name}/{mv['version']} has no run id; its bundle cannot be found")
    target = Path(cache_dir) / _SAFE.sub("_", name) / f"v{mv['version']}-{_SAFE.sub('_', run_id)}"
    try:
        check_bundle(target)
        return ResolvedBundle(target, name, str(mv["version"]), run_id)
    except BundleError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
        for filename in BUNDLE_FILES:
            client.download_artifact(run_id=run_id, path=f"{BUNDLE_ARTIFACT_DIR}/{filename}", dest=tmp / filename)
        for filename in OPTIONAL_FILES:  # segments.npz: older bundles lack it; in the checksum when present
            try:
                client.download_artifact(run_id=run_id, path=f"{BUNDLE_ARTIFACT_DIR}/{filename}", dest=tmp / filename)
            except ResolveError as exc:
                (tmp / filename).unlink(missing_ok=True)
                if exc.status is None:  # unreachable: fail; any answer (404, or 500 from an S3 proxy): absent
                    raise  # (a file that exists but failed to come is caught by the checksum check below)
        check_bundle(tmp)
        try:
            verify_bundle(client, tmp, model_name=name, model_version=mv, alias=alias)
        except UntrustedBundle as exc:
            raise ResolveError(str(exc)) from exc
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return ResolvedBundle(target, name, str(mv["version"]), run_id)
