"""Smoke test of a deployed portal over HTTP: health, a real login, the reference examples, the served version."""

from __future__ import annotations

import os
from dataclasses import dataclass

import requests

from ml.domain import REFERENCE_EXAMPLES


class SmokeTestFailed(RuntimeError):
    """The deployed portal did not behave; the message says which check."""


@dataclass
class SmokeResult:
    url: str
    model_version: str
    app_version: str
    labels: list[int]


def health_headers(token: str | None = None) -> dict[str, str]:
    """/healthz shows its details (versions, errors) to $HEALTH_TOKEN only; without it, the status alone."""
    token = os.environ.get("HEALTH_TOKEN", "") if token is None else token
    return {"Authorization": f"Bearer {token}"} if token else {}


def smoke_test(
    url: str,
    *,
    username: str,
    password: str,
    expected_version: str | None = None,
    timeout: float = 10.0,
    health_token: str | None = None,
) -> SmokeResult:
    session = requests.Session()
    try:
        health = session.get(f"{url}/healthz", headers=health_headers(health_token), timeout=timeout)
    except requests.RequestException as exc:
        raise SmokeTestFailed(f"{url}/healthz unreachable: {exc}") from exc
    body = health.json() if health.headers.get("content-type", "").startswith("application/json") else {}
    if health.status_code != 200 or body.get("status") != "ok" or body.get("model_loaded") is False:
        raise SmokeTestFailed(
            f"{url}/healthz: status {health.status_code} {body.get('status')!r}, model loaded: {body.get('model_loaded')}, "
            f"error: {body.get('model_error')}"
        )
    if expected_version is not None and "model_version" in body and str(body["model_version"]) != str(expected_version):
        raise SmokeTestFailed(f"{url} serves model version {body.get('model_version')}, expected {expected_version}")

    login_page = session.get(f"{url}/accounts/login/", timeout=timeout)
    token = session.cookies.get("csrftoken")
    if login_page.status_code != 200 or not token:
        raise SmokeTestFailed(f"{url}/accounts/login/ answered {login_page.status_code} without a CSRF cookie")
    login = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=timeout,
        allow_redirects=False,
    )
    if login.status_code != 302 or "sessionid" not in session.cookies:
        raise SmokeTestFailed(f"login as {username!r} failed (status {login.status_code})")

    texts = [text for text, _ in REFERENCE_EXAMPLES]
    answer = session.post(
        f"{url}/api/v1/classify",
        json={"texts": texts},
        headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{url}/"},
        timeout=timeout,
    )
    if answer.status_code != 200:
        raise SmokeTestFailed(f"POST /api/v1/classify answered {answer.status_code}: {answer.text[:300]}")
    results = answer.json()["results"]
    labels = [r["label"] for r in results]
    expected = [label for _, label in REFERENCE_EXAMPLES]
    if labels != expected:
        raise SmokeTestFailed(f"the reference examples were labelled {labels}, expected {expected}")
    versions = {str(r["model_version"]) for r in results}
    if expected_version is not None and versions != {str(expected_version)}:
        raise SmokeTestFailed(f"classifications came from model version(s) {sorted(versions)}, expected {expected_version}")
    served = str(body["model_version"]) if "model_version" in body else ",".join(sorted(versions))
    return SmokeResult(url=url, model_version=served, app_version=str(body.get("app_version", "")), labels=labels)


def smoke_outputs(environment: str, url: str, *, password: str, model_version: str, health_token: str | None = None) -> dict:
    """The smoke stage's outputs for one deployed portal, signed in as the demo technician."""
    result = smoke_test(url, username="tech", password=password, expected_version=model_version, health_token=health_token)
    return {"environment": environment, "model_version": result.model_version, "app_version": result.app_version, "labels": result.labels}
