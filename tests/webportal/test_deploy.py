"""Production settings, management commands and a real gunicorn server (whitenoise, token API, cold start)."""

from __future__ import annotations

import re

import pytest
import requests

from tests.webportal.conftest import HEALTH_HEADERS, manage, portal_env


def test_check_deploy_passes_with_production_settings(tmp_path):
    """DEBUG off, secrets from the environment, defaults for everything else: no warnings at all."""
    env = portal_env(tmp_path, SECRET_KEY="a-long-random-production-secret-" + "q8Zr2" * 10, ALLOWED_HOSTS="portal.example.org")
    for name in ("SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS"):
        env.pop(name)
    proc = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in proc.stdout


def test_secret_key_required_when_debug_off(tmp_path):
    env = portal_env(tmp_path)
    env.pop("SECRET_KEY")
    proc = manage(env, "check", check=False)
    assert proc.returncode != 0 and "SECRET_KEY must be set" in proc.stderr


def test_bad_boolean_is_a_clear_error(tmp_path):
    proc = manage(portal_env(tmp_path, DEBUG="maybe"), "check", check=False)
    assert proc.returncode != 0 and "DEBUG must be one of" in proc.stderr


def test_migrations_are_complete(tmp_path):
    manage(portal_env(tmp_path), "makemigrations", "--check", "--dry-run")


@pytest.fixture
def served_portal(tmp_path, fresh_db, portal_bundle, start_server):
    env = portal_env(
        tmp_path, MODEL_DIR=str(portal_bundle), DJANGO_SUPERUSER_PASSWORD="Adm1n-pass-word", PORTAL_DEMO_PASSWORD="Demo-pass-2024"
    )
    roles = manage(env, "setup_roles", "--demo-users").stdout
    assert "role technician" in roles and "user tech" in roles
    manage(env, "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org")
    token = manage(env, "drf_create_token", "tech").stdout
    key = re.search(r"([0-9a-f]{40})", token).group(1)
    return start_server(env, workers=2), key


def test_gunicorn_serves_api_pages_and_static(served_portal):
    server, key = served_portal
    headers = {"Authorization": f"Token {key}"}
    response = requests.post(
        f"{server.url}/api/v1/classify", json={"text": "Steel gear made in 2001, good condition"}, headers=headers, timeout=10
    )
    assert response.status_code == 200, server.logs()
    assert response.json()["label_name"] in ("compliant", "non-compliant")
    bad = requests.post(
        f"{server.url}/api/v1/classify", data=b'{"text": "\xff"}', headers={**headers, "Content-Type": "application/json"}, timeout=10
    )
    assert bad.status_code == 400 and "body" in bad.json()["errors"]
    assert requests.get(f"{server.url}/healthz", headers=HEALTH_HEADERS, timeout=5).json()["model_loaded"] is True
    css = requests.get(f"{server.url}/static/portal/portal.css", timeout=5)
    assert css.status_code == 200 and "--brand" in css.text
    login = requests.get(f"{server.url}/classify/", timeout=5)
    assert login.url.endswith("/accounts/login/?next=/classify/")
    assert login.headers["X-Frame-Options"] == "DENY" and login.headers["X-Content-Type-Options"] == "nosniff"
    session = requests.Session()
    page = session.get(f"{server.url}/accounts/login/", timeout=5)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = session.post(
        f"{server.url}/accounts/login/",
        data={"username": "tech", "password": "Demo-pass-2024", "csrfmiddlewaretoken": csrf},
        headers={"Referer": page.url},
        timeout=5,
    )
    assert done.url.endswith("/classify/") and "Classify a component" in done.text
    # the pipeline's smoke test (ci/smoke.py) uses the API with the session cookie and the CSRF header
    texts = {
        "texts": ["Manufactured in 1985 made of steel in fair condition", "Good condition carbon fiber component manufactured in 2010"]
    }
    no_csrf = session.post(f"{server.url}/api/v1/classify", json=texts, timeout=10)
    assert no_csrf.status_code == 403
    ok = session.post(f"{server.url}/api/v1/classify", json=texts, headers={"X-CSRFToken": session.cookies["csrftoken"]}, timeout=10)
    assert ok.status_code == 200 and len(ok.json()["results"]) == 2


def test_demo_users_get_generated_password_once(tmp_path, fresh_db):
    env = portal_env(tmp_path)
    first = manage(env, "setup_roles", "--demo-users").stdout
    assert re.search(r"user tech: created, password \S{12,} \(shown once\)", first)
    second = manage(env, "setup_roles", "--demo-users").stdout
    assert "password unchanged" in second and "shown once" not in second


def _redis_url() -> str:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379 (.ci/run starts it): {exc}")
    return "redis://127.0.0.1:6379/15"


def _clear_throttle(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("portal:*login-fail*"):
        client.delete(key)
    client.close()
    return url


@pytest.mark.parametrize("cache", ["files (default)", "redis"])
def test_login_throttle_is_shared_by_the_workers(cache, tmp_path, fresh_db, start_server):
    """Two gunicorn workers, LOGIN_MAX_FAILURES=2: after two wrong passwords the right one is refused on every
    later attempt, whichever worker takes it (a per-worker cache would let the other worker sign in)."""
    extra = {"CACHE_URL": _clear_throttle(_redis_url())} if cache == "redis" else {}
    env = portal_env(tmp_path, PORTAL_DEMO_PASSWORD="Demo-pass-2024", LOGIN_MAX_FAILURES="2", **extra)
    manage(env, "setup_roles", "--demo-users")
    server = start_server(env, workers=2)

    def sign_in(password: str) -> str:
        with requests.Session() as session:  # a new connection each time: either worker may answer
            page = session.get(f"{server.url}/accounts/login/", timeout=5)
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            done = session.post(
                f"{server.url}/accounts/login/",
                data={"username": "tech", "password": password, "csrfmiddlewaretoken": csrf},
                headers={"Referer": page.url, "Connection": "close"},
                timeout=5,
            )
            return done.text

    for _ in range(2):
        assert "Too many failed" not in sign_in("wrong-password")
    for _ in range(6):
        assert "Too many failed" in sign_in("Demo-pass-2024"), server.logs()
    if cache == "redis":
        _clear_throttle(extra["CACHE_URL"])
