"""The API's human side: Swagger UI and Redoc at /api/docs/ and /api/redoc/ (signed in, assets served locally),
and `manage.py api_token USER`, which makes a token on the deployed portal without DEBUG."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import pytest
from django.test import Client

from tests.webportal.conftest import REPO, client_for, manage, portal_env


@pytest.mark.django_db
def test_swagger_and_redoc_pages_are_behind_sign_in_and_use_local_assets(tech):
    for url in ("/api/docs/", "/api/redoc/"):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/"), url
        page = client_for(tech).get(url)
        body = page.content.decode()
        assert page.status_code == 200 and "/api/schema/" in body, url
        assert "cdn.jsdelivr.net" not in body and "/static/drf_spectacular_sidecar/" in body, url  # nothing from the internet
    assert client_for(tech).get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def _deployed_portal(tmp_path, migrated_sqlite):
    """A var folder laid out as `make run` leaves it: deploy/production with its database and secret key."""
    root = tmp_path / "var" / "deploy" / "production"
    root.mkdir(parents=True)
    shutil.copyfile(migrated_sqlite, root / "portal.sqlite3")
    (root / ".secret_key").write_text("deployed-secret-" + "s" * 40)
    env = portal_env(root, PORTAL_DEMO_PASSWORD="Token-demo-pass-1")
    manage(env, "setup_roles", "--demo-users")
    return root


def test_api_token_makes_a_token_on_the_production_deploy_without_debug(tmp_path, migrated_sqlite):
    root = _deployed_portal(tmp_path, migrated_sqlite)
    env = {k: v for k, v in portal_env(tmp_path).items() if k not in ("DATABASE_URL", "SECRET_KEY", "PORTAL_VAR_DIR", "DEBUG")}
    env["PIPELINE_VAR_DIR"] = str(tmp_path / "var")
    run = subprocess.run([sys.executable, "manage.py", "api_token", "tech"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    key = run.stdout.strip()
    assert len(key) == 40 and key.isalnum()
    with sqlite3.connect(root / "portal.sqlite3") as db:
        stored = db.execute("SELECT key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id WHERE u.username = 'tech'").fetchall()
    assert stored == [(key,)]
    again = subprocess.run(
        [sys.executable, "manage.py", "api_token", "tech"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.stdout.strip() == key  # the same token on the next call
    unknown = subprocess.run([sys.executable, "manage.py", "api_token", "nobody"], cwd=REPO, env=env, capture_output=True, text=True)
    assert unknown.returncode != 0 and "no user 'nobody'" in unknown.stderr
    bad = subprocess.run(
        [sys.executable, "manage.py", "--env", "prod", "api_token", "tech"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "--env must be one of staging, production" in bad.stderr
