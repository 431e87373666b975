"""REST API with real token authentication. Every bad input answers 400 with a JSON error naming the field."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from webportal.portal.models import Component, Feedback, Prediction

pytestmark = pytest.mark.django_db
CLASSIFY = "/api/v1/classify"


def post_raw(client, url, body: bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def test_classify_one_text_logs_prediction(api, model):
    response = api.post(CLASSIFY, {"text": "Steel gear manufactured in 2010 in good condition"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"prediction_id", "text", "probability", "label", "label_name", "model_name", "model_version", "latency_ms"}
    assert body["model_version"] == model.current.version
    prediction = Prediction.objects.get(pk=body["prediction_id"])
    assert prediction.source == "api" and prediction.user.username == "tech"


def test_classify_batch(api, model):
    texts = ["Iron valve made in 1980, poor condition", "Carbon fiber panel made in 2020, new condition"]
    response = api.post(CLASSIFY, {"texts": texts}, format="json")
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == texts


def test_classify_without_model_is_503(api):
    response = api.post(CLASSIFY, {"text": "steel gear 2001 good"}, format="json")
    assert response.status_code == 503
    assert "no model" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \t\n "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": 123}, "text"),
        ({"text": None}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": True}, "text"),
        ({"text": "nul \u0000 char"}, "text"),
        ({}, "text"),
        ({"text": "a", "texts": ["b"]}, "text"),
        ({"texts": []}, "texts"),
        ({"texts": "not a list"}, "texts"),
        ({"texts": ["ok steel 2001", 5]}, "texts"),
        ({"texts": ["ok steel 2001", " "]}, "texts"),
        ({"texts": ["steel gear 2001"] * 257}, "texts"),
        ({"text": "steel", "extra": 1}, "extra"),
    ],
    ids=[
        "empty", "whitespace", "over-2000-chars", "int", "null", "list", "bool", "nul-char", "missing",
        "both-text-and-texts", "empty-batch", "texts-string", "texts-wrong-type", "texts-blank-item", "batch-over-256", "unknown-field",
    ],
)  # fmt: skip
def test_classify_bad_json_values_400_naming_field(api, model, body, field):
    response = api.post(CLASSIFY, body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["error"] == "invalid input"
    assert field in data["errors"], data
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"text": "steel', "invalid JSON"),
        (b"not json at all", "invalid JSON"),
        (b'{"text": "\xff\xfe steel"}', "UTF-8"),
        (b'{"text": NaN}', "NaN"),
        (b'["a list", "not an object"]', "JSON object"),
        (b"", "text"),
    ],
    ids=["truncated-json", "not-json", "non-utf8-bytes", "nan-constant", "top-level-list", "empty-body"],
)
def test_classify_malformed_body_400_naming_body(api, model, raw, needle):
    response = post_raw(api, CLASSIFY, raw)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    field = "text" if raw == b"" else "body"
    assert field in errors
    assert needle in json.dumps(errors)


def test_classify_oversized_body_400(api, model, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB) answers 400 naming `body`."""
    raw = json.dumps({"text": "s" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}).encode()
    response = post_raw(api, CLASSIFY, raw)
    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    assert "limit" in response.json()["errors"]["body"][0]


def test_injection_texts_stored_verbatim_and_escaped(api, model, tech):
    """Script and SQL injection texts are stored exactly and rendered escaped, never executed."""
    texts = ["<script>alert('x')</script> steel gear 2001", "'; DROP TABLE portal_prediction; -- iron 1980", "<img src=x onerror=alert(1)>"]
    for text in texts:
        assert api.post("/api/v1/components", {"text": text}, format="json").status_code == 201
    assert sorted(Component.objects.values_list("text", flat=True)) == sorted(texts)
    assert Prediction.objects.count() == 3  # the table is still there
    from tests.webportal.conftest import client_for

    html = client_for(tech).get("/components/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_wrong_content_type_is_415(api, model):
    response = post_raw(api, CLASSIFY, b"text=steel", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_requires_token(model, db):
    client = APIClient()
    assert client.post(CLASSIFY, {"text": "steel gear"}, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.post(CLASSIFY, {"text": "steel gear"}, format="json").status_code == 401


def test_role_permissions_on_api(model, reviewer, operator):
    for user, classify_status, feedback_status in [(reviewer, 403, None), (operator, 403, 403)]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        assert client.post(CLASSIFY, {"text": "steel gear 2001"}, format="json").status_code == classify_status
        assert client.post("/api/v1/components", {"text": "steel gear 2001"}, format="json").status_code == 403
        if feedback_status:
            assert client.post("/api/v1/feedback", {"component": 1, "correct_label": 0}, format="json").status_code == feedback_status


def test_components_create_list_detail_patch(api, model):
    created = api.post("/api/v1/components", {"text": "Steel gear made in 2001, good condition"}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["status"] == "classified"
    listing = api.get("/api/v1/components", {"q": "gear"}).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == pk
    patched = api.patch(f"/api/v1/components/{pk}", {"text": "Iron gear made in 1970, poor condition"}, format="json")
    assert patched.status_code == 200 and patched.json()["text"].startswith("Iron")
    detail = api.get(f"/api/v1/components/{pk}").json()
    assert len(detail["predictions"]) == 2
    assert api.get("/api/v1/components/999999").status_code == 404
    assert api.patch(f"/api/v1/components/{pk}", {"text": " "}, format="json").json()["errors"].keys() == {"text"}


def test_feedback_api(api, model, reviewer):
    pk = api.post("/api/v1/components", {"text": "Steel gear made in 2001, good condition"}, format="json").json()["id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reviewer).key}")
    ok = client.post("/api/v1/feedback", {"component": pk, "correct_label": 1, "comment": "iron, really"}, format="json")
    assert ok.status_code == 201, ok.content
    assert Feedback.objects.get().prediction is not None
    for body, field in [
        ({"component": pk, "correct_label": 2}, "correct_label"),
        ({"component": pk, "correct_label": "1"}, "correct_label"),
        ({"component": pk, "correct_label": True}, "correct_label"),
        ({"component": 987654, "correct_label": 0}, "component"),
        ({"component": "1", "correct_label": 0}, "component"),
        ({"correct_label": 0}, "component"),
    ]:
        response = client.post("/api/v1/feedback", body, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (body, response.content)
    assert client.get("/api/v1/feedback").json()["count"] == 1


def test_openapi_schema(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/classify" in text and "/api/v1/components" in text and "/api/v1/feedback" in text


def test_token_cache_expires_and_can_be_disabled(model, tech, settings):
    """Revoking a token takes effect after API_AUTH_CACHE_SECONDS (immediately with 0)."""
    from webportal.api import authentication

    token = Token.objects.create(user=tech)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(CLASSIFY, {"text": "steel gear 2001"}, format="json").status_code == 200
    token.delete()
    assert client.post(CLASSIFY, {"text": "steel gear 2001"}, format="json").status_code == 200  # cached
    settings.API_AUTH_CACHE_SECONDS = 0
    assert client.post(CLASSIFY, {"text": "steel gear 2001"}, format="json").status_code == 401
    authentication.clear()
