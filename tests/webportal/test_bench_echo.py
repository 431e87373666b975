"""The authenticated echo view (/bench/echo), the classify API's floor in bench/serving.py: classify's token
auth, permission, JSON parsing and validation, the texts answered back without the model or the log; and
only with PORTAL_BENCH_NOOP (never in production)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from webportal.env import load
from webportal.portal.models import Prediction

pytestmark = pytest.mark.django_db
ECHO = "/bench/echo"


@pytest.fixture
def bench_on(settings):
    settings.BENCH_NOOP = True


def test_echo_is_404_unless_the_bench_views_are_on(api, settings):
    settings.BENCH_NOOP = False
    assert api.post(ECHO, {"text": "steel gear 2001"}, format="json").status_code == 404
    assert APIClient().post(ECHO, {"text": "steel gear 2001"}, format="json").status_code == 404


def test_echo_answers_the_texts_back_without_a_model_or_the_log(api, bench_on):
    # no `model` fixture: nothing is served, so the answer cannot come from the model
    first = api.post(ECHO, {"text": "Steel gear <b>2001</b> good"}, format="json")  # token not cached yet: DRF's path
    second = api.post(ECHO, {"text": "Steel gear <b>2001</b> good"}, format="json")  # cached token: the fast path
    assert first.status_code == second.status_code == 200, first.content
    assert first.json() == second.json() == {"text": "Steel gear <b>2001</b> good"}
    assert first["Content-Type"] == "application/json"
    batch = api.post(ECHO, {"texts": ["iron valve 1980", "carbon panel 2020"]}, format="json")
    assert batch.json() == {"results": [{"text": "iron valve 1980"}, {"text": "carbon panel 2020"}]}
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"text": ""}, "text"), ({"text": 5}, "text"), ({"texts": ["steel"] * 257}, "texts"), ({"text": "a", "extra": 1}, "extra")],
    ids=["empty-text", "int-text", "batch-over-256", "unknown-field"],
)
def test_echo_validates_like_classify(api, bench_on, body, field):
    for _ in range(2):  # before and after the token is cached
        response = api.post(ECHO, body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]


def test_echo_needs_a_token_with_the_classify_permission(bench_on, reviewer):
    anonymous = APIClient()
    assert anonymous.post(ECHO, {"text": "steel gear"}, format="json").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert anonymous.post(ECHO, {"text": "steel gear"}, format="json").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reviewer).key}")
    assert client.post(ECHO, {"text": "steel gear"}, format="json").status_code == 403  # reviewers cannot classify


def test_echo_refuses_malformed_json_and_other_content_types(api, bench_on):
    assert api.generic("POST", ECHO, b'{"text": "steel', content_type="application/json").status_code == 400
    assert api.generic("POST", ECHO, b"text=steel", content_type="application/x-www-form-urlencoded").status_code == 415


def test_bench_views_are_refused_in_production():
    base = {"SECRET_KEY": "k" * 50, "PORTAL_BENCH_NOOP": "1"}
    with pytest.raises(ImproperlyConfigured, match="never in production"):
        load({**base, "PORTAL_ENVIRONMENT": "production"})
    assert load({**base, "PORTAL_ENVIRONMENT": "staging"}).bench_noop is True
    assert load({"SECRET_KEY": "k" * 50, "PORTAL_ENVIRONMENT": "production"}).bench_noop is False
