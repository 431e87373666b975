"""Hostile cases against the portal's doors (issue 11): every sign-in form shares the throttle, the API schema
and docs need sign-in, public /healthz says the status only."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.webportal.conftest import _user, client_for

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "pw-admin-Secret1"


@pytest.fixture
def admin(roles):
    return _user("admin", "administrator")


@pytest.fixture
def tiny_model(second_bundle, tmp_path):
    """A real bundle with random weights (no training): what /healthz reports on is the holder, not the weights."""
    import shutil

    from webportal.portal import serving

    shutil.copytree(second_bundle, tmp_path / "model")
    holder = serving.ModelHolder(model_dir=str(tmp_path / "model"))
    assert holder.load(), holder.last_error
    serving.set_holder(holder)
    return holder


def _admin_login(client: Client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "admin", "password": password, "next": "/admin/"})


def test_admin_login_is_throttled_like_the_portal_sign_in(admin, settings):
    """LOGIN_MAX_FAILURES wrong passwords for `admin` at /admin/login/, then the right one: refused."""
    cache.clear()
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        response = _admin_login(client, "wrong")
        assert response.status_code == 200 and "Too many" not in response.content.decode()
    response = _admin_login(client, ADMIN_PASSWORD)
    assert response.status_code == 200 and "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()
    assert _admin_login(client, ADMIN_PASSWORD).status_code == 302


def test_failures_at_either_door_count_for_both(admin, settings):
    """Wrong passwords at the portal sign-in lock /admin/login/ out for that user, and the other way round."""
    cache.clear()
    portal, other = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        portal.post("/accounts/login/", {"username": "admin", "password": "wrong"})
    response = other.post("/admin/login/", {"username": "admin", "password": ADMIN_PASSWORD, "next": "/admin/"})
    assert "Too many failed sign-in attempts" in response.content.decode()
    cache.clear()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _admin_login(other, "wrong")
    response = portal.post("/accounts/login/", {"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200 and "Too many failed sign-in attempts" in response.content.decode()
    cache.clear()


def test_api_schema_needs_sign_in(api, tech):
    """Anonymous: 401 and no schema text; a technician's session or token: the schema."""
    anonymous = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert anonymous.status_code == 401 and b"/api/v1/classify" not in anonymous.content
    assert client_for(tech).get("/api/schema/").status_code == 200
    assert api.get("/api/schema/").status_code == 200


@pytest.mark.parametrize("view", ["SpectacularSwaggerView", "SpectacularRedocView", "SpectacularJSONAPIView"])
def test_every_schema_or_docs_view_follows_the_same_rule(view, tech, rf):
    """A docs page (Swagger UI, ReDoc) mounted later inherits SERVE_PERMISSIONS: anonymous is refused."""
    from django.contrib.auth.models import AnonymousUser
    from drf_spectacular import views

    cls = getattr(views, view)
    page = cls.as_view(url_name="api:schema") if hasattr(cls, "url_name") else cls.as_view()
    anonymous = rf.get("/api/docs/")
    anonymous.user = AnonymousUser()
    assert page(anonymous).status_code in (401, 403)
    signed_in = rf.get("/api/docs/")
    signed_in.user = tech
    assert page(signed_in).status_code == 200


def test_public_healthz_shows_the_status_only(tiny_model, tech, settings):
    """No model name, version, error text, file paths or environment for an anonymous caller or a technician."""
    settings.PORTAL_ENVIRONMENT = "production"
    settings.HEALTH_TOKEN = "health-token-123"
    for client, headers in ((Client(), {}), (client_for(tech), {}), (Client(), {"HTTP_AUTHORIZATION": "Bearer wrong"})):
        response = client.get("/healthz", **headers)
        assert response.status_code == 200 and response.json() == {"status": "ok"}, headers
    assert Client().get("/healthz?probe=live").json() == {"status": "alive"}
    assert Client().get("/healthz?probe=ready").json() == {"status": "ok"}


def test_healthz_details_for_operators_and_the_health_token(tiny_model, operator, settings):
    settings.HEALTH_TOKEN = "health-token-123"
    for client, headers in ((client_for(operator), {}), (Client(), {"HTTP_AUTHORIZATION": "Bearer health-token-123"})):
        body = client.get("/healthz", **headers).json()
        assert body["status"] == "ok" and body["model_version"] == tiny_model.current.version and body["database"] == "ok"
        assert "prediction_log" in body and "app_version" in body
    settings.HEALTH_TOKEN = ""  # no token configured: an empty bearer opens nothing
    assert Client().get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_public_healthz_hides_a_failing_model_path(tmp_path, settings):
    """A model folder that fails to load: its path is in the operator's details, not in the public answer."""
    from webportal.portal import serving

    missing = tmp_path / "secret-folder" / "model"
    holder = serving.ModelHolder(model_dir=str(missing))
    holder.load()
    serving.set_holder(holder)
    settings.HEALTH_TOKEN = "health-token-123"
    public = Client().get("/healthz")
    assert "secret-folder" not in public.content.decode() and public.json() == {"status": "degraded"}
    details = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer health-token-123").json()
    assert details["model_loaded"] is False
