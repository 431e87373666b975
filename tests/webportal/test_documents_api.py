"""POST /api/v1/documents and GET /api/v1/documents/<id>: token auth, real files, every bad input answered with
a clear error and nothing stored (not even in part)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError

from ml.data.spec_files import write_pdf, write_spec
from ml.documents.blocks import PARAGRAPH, Block
from tests.ml.bad_files import bad_files
from tests.ml.spec_blocks import spec_blocks
from tests.webportal.conftest import _user
from webportal.portal.models import Component, Document, DocumentSegment, Prediction

pytestmark = pytest.mark.django_db
URL = "/api/v1/documents"


def post(api, name: str, data: bytes):
    return api.post(URL, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def nothing_stored() -> bool:
    return Document.objects.count() == DocumentSegment.objects.count() == Component.objects.count() == Prediction.objects.count() == 0


def test_post_answers_the_cli_json_plus_the_id_and_get_returns_it_again(api, model):
    response = post(api, "spec.pdf", write_spec(spec_blocks(), "pdf"))
    assert response.status_code == 201, response.content
    data = response.json()
    assert {"id", "filename", "verdict", "counts", "components", "skipped", "model"} <= set(data)
    assert data["filename"] == "spec.pdf" and data["counts"]["components"] == 7 and len(data["skipped"]) == 5
    first = data["components"][0]
    assert {"text", "label", "probability", "page", "kind"} <= set(first) and first["page"] == 1
    assert data["model"]["version"] == model.current.version
    assert all(c["model_version"] == model.current.version and isinstance(c["needs_review"], bool) for c in data["components"])
    for c in data["components"]:  # each component says why: words of its own text, at their offsets
        assert c["evidence"], c["text"]
        assert all(c["text"][e["start"] : e["end"]] == e["word"] for e in c["evidence"]), c
    again = api.get(f"{URL}/{data['id']}")
    assert again.status_code == 200 and again.json() == data


@pytest.mark.parametrize(("tried", "name", "data", "code"), bad_files(), ids=[b[1] for b in bad_files()])
def test_each_bad_document_is_refused_clearly_and_nothing_is_stored(api, model, tried, name, data, code):
    response = post(api, name, data)
    assert response.status_code == 400, (tried, response.content)
    body = response.json()
    assert body["code"] == code, tried
    assert body["error"] == "invalid input" and len(body["errors"]["file"][0]) > 10
    assert nothing_stored(), tried


def test_a_file_over_the_size_limit_is_refused(api, model, settings):
    settings.DOCUMENT_MAX_BYTES = 50_000
    response = post(api, "big.txt", b"The hood is steel. " * 5000)  # tried: 95 kB against a 50 kB limit
    assert response.status_code == 400 and response.json()["code"] == "too_large" and nothing_stored()


def test_a_pdf_over_the_page_limit_is_refused(api, model, settings):
    settings.DOCUMENT_MAX_PAGES = 3
    blocks = [Block(PARAGRAPH, f"The hood {i} is made of steel in 2011, good condition.") for i in range(5)]
    response = post(api, "long.pdf", write_pdf(blocks, page_break_every=1))  # tried: 5 pages against a 3-page limit
    assert response.status_code == 400 and response.json()["code"] == "too_many_pages" and nothing_stored()


def test_a_document_without_components_is_stored_with_that_verdict(api, model):
    response = post(api, "boiler.md", b"# Specification\n\nApproved for release.\n\nRevision 2, 3 May 2024.\n")
    assert response.status_code == 201
    assert response.json()["verdict"] == "no components" and response.json()["counts"]["components"] == 0
    assert Prediction.objects.count() == 0


def test_a_hostile_filename_is_stored_safe(api, model):
    response = post(api, "../../etc/\x1bspec.md", write_spec(spec_blocks(), "md"))  # tried: folders and an escape character
    assert response.status_code == 201 and response.json()["filename"] == "spec.md"


def test_a_failure_while_storing_rolls_everything_back(api, model, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")  # tried: the prediction rows fail after the document and segments were written

    monkeypatch.setattr(Prediction.objects, "bulk_create", broken)
    response = post(api, "spec.md", write_spec(spec_blocks(), "md"))
    assert response.status_code == 503  # the portal's database-outage answer
    assert nothing_stored()


def test_no_file_no_model_no_token_and_other_peoples_documents(api, model, db):
    assert api.post(URL, {}, format="multipart").json()["errors"]["file"] == ["a file is required (multipart field 'file')"]
    data = post(api, "spec.md", write_spec(spec_blocks(), "md")).json()
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=_user('tech2', 'technician')).key}")
    assert other.get(f"{URL}/{data['id']}").status_code == 404
    assert APIClient().post(URL, {"file": SimpleUploadedFile("a.md", b"x")}, format="multipart").status_code in (401, 403)


def test_no_model_answers_503_and_stores_nothing(api, db):
    response = post(api, "spec.md", write_spec(spec_blocks(), "md"))
    assert response.status_code == 503 and nothing_stored()


def test_both_endpoints_are_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/documents" in schema and "/api/v1/documents/{id}" in schema and "multipart/form-data" in schema
    components = json.loads(schema)["components"]["schemas"]
    finding, skipped = components["DocumentComponent"]["properties"], components["DocumentSkippedSegment"]["properties"]
    for name in ("label", "probability", "page", "kind", "start", "end", "model_version", "evidence", "needs_review"):
        assert name in finding, name
    assert {"reason", "page", "start", "end"} <= set(skipped)
    assert {"created_at", "created_by", "components", "skipped"} <= set(components["DocumentFindings"]["properties"])
