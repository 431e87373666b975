"""Documents pages with real Django auth, a real served bundle and real PDF/DOCX files: upload, highlights,
exports, report, reviewer corrections, ownership."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ml.data.spec_files import write_spec
from tests.ml.spec_blocks import spec_blocks
from tests.webportal.conftest import _user, client_for
from webportal.portal.models import Component, Document, DocumentSegment, Feedback, Prediction

pytestmark = pytest.mark.django_db


def upload(client, *files: tuple[str, bytes]):
    return client.post("/documents/", {"file": [SimpleUploadedFile(name, data) for name, data in files]}, follow=True)


def stored(tech, fmt: str = "pdf") -> Document:
    response = upload(client_for(tech), (f"spec.{fmt}", write_spec(spec_blocks(), fmt)))
    assert response.status_code == 200
    return Document.objects.latest("id")


def test_a_pdf_upload_stores_the_document_its_components_and_their_predictions(model, tech):
    document = stored(tech)
    assert (document.filename, document.file_type, document.pages) == ("spec.pdf", "pdf", 1)
    assert document.components == 7 and document.skipped == 5
    assert document.non_compliant + document.compliant == 7
    assert document.verdict == ("non-compliant" if document.non_compliant else "compliant")
    assert document.model_version == model.current.version
    segments = list(document.segments.all())
    assert len(segments) == 12 and sum(s.is_component for s in segments) == 7
    predictions = Prediction.objects.filter(document=document)
    assert predictions.count() == 7 and set(predictions.values_list("source", flat=True)) == {"document"}
    assert {p.component_id for p in predictions} == {s.component_id for s in segments if s.is_component}
    assert Component.objects.filter(document_segments__document=document, created_by=tech).count() == 7


def test_several_files_in_one_upload_and_a_bad_one_stores_nothing_of_itself(model, tech):
    response = upload(
        client_for(tech),
        ("a.pdf", write_spec(spec_blocks(), "pdf")),
        ("fake.pdf", b"<html><body>not a pdf</body></html>"),  # tried: HTML named .pdf between two good files
        ("b.docx", write_spec(spec_blocks(), "docx")),
    )
    page = response.content.decode()
    assert "fake.pdf: the file is named .pdf but its content is HTML. Nothing was stored." in page
    assert sorted(Document.objects.values_list("filename", flat=True)) == ["a.pdf", "b.docx"]
    assert Prediction.objects.count() == 14
    assert 'id="documents"' in page and "a.pdf" in page and "b.docx" in page


def test_the_document_page_highlights_every_segment_with_its_probability(model, tech):
    document = stored(tech, "docx")
    page = client_for(tech).get(f"/documents/{document.pk}/").content.decode()
    segments = list(document.segments.all())
    for s in segments:
        assert f'id="seg-{s.index}"' in page
    text = page.split('id="document-text"', 1)[1].split("</div>", 1)[0]
    coloured = text.count('class="seg red') + text.count('class="seg green')
    assert coloured == 7 and text.count('class="seg grey"') == 5
    rear_axle = next(s for s in segments if "rear axle" in s.text)
    assert f"P(non-compliant) {rear_axle.probability:.3f}" in page
    assert 'id="summary"' in page and f'<span class="n" id="count-components">{document.components}</span>' in page
    why = rear_axle.component.evidence_list()  # the findings table marks each component's decisive words
    findings = page.split('id="findings"', 1)[1]
    assert why and f'<mark class="evidence" title="evidence, weight {why[0]["weight"]:.3f}">{why[0]["word"]}</mark>' in findings


def test_script_in_a_document_stays_escaped_on_the_page(model, tech):
    data = b"The hood <script>alert('x')</script> is made of steel in 2011 and in good condition.\n\n<img src=x onerror=alert(1)>\n"
    upload(client_for(tech), ("evil.txt", data))  # tried: script and an onerror image in plain text
    document = Document.objects.get()
    for url in (f"/documents/{document.pk}/", f"/documents/{document.pk}/report"):
        page = client_for(tech).get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_csv_and_json_exports_and_the_printable_report(model, tech):
    document = stored(tech, "md")
    client = client_for(tech)
    response = client.get(f"/documents/{document.pk}/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="spec-findings.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 12 and sum(1 for r in rows if r["label"] != "") == 7
    assert {r["verdict"] for r in rows} == {document.verdict}
    data = json.loads(client.get(f"/documents/{document.pk}/export.json").content)
    assert data["id"] == document.pk and len(data["components"]) == 7 and len(data["skipped"]) == 5
    report = client.get(f"/documents/{document.pk}/report").content.decode()
    css = b"".join(client.get("/static/portal/documents.css").streaming_content).decode()
    assert "window.print()" in report and "@media print" in css
    assert report.count("<tr><td>") == 7
    assert client.get(f"/documents/{document.pk}/export.xlsx").status_code == 404


def test_a_reviewer_corrects_a_component_like_any_single_component(model, tech, reviewer):
    document = stored(tech)
    segment = document.segments.filter(label__isnull=False).first()
    wrong = 1 - segment.label
    response = client_for(reviewer).post(
        f"/documents/{document.pk}/segments/{segment.index}/review", {"correct_label": wrong, "comment": "checked"}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/documents/{document.pk}/#finding-{segment.index}")
    feedback = Feedback.objects.get()
    assert feedback.component_id == segment.component_id and feedback.correct_label == wrong and feedback.reviewer == reviewer
    assert feedback.prediction.document_id == document.pk and feedback.prediction.source == "document"
    from webportal.portal.selectors import feedback_accuracy_by_version

    assert feedback_accuracy_by_version() == [{"version": document.model_version, "reviewed": 1, "correct": 0, "accuracy": 0.0}]
    page = client_for(reviewer).get(f"/documents/{document.pk}/").content.decode()
    assert f'id="review-{segment.index}"' in page and "reviewed" in page
    skipped = document.segments.filter(label__isnull=True).first()
    assert client_for(reviewer).post(f"/documents/{document.pk}/segments/{skipped.index}/review", {"correct_label": 1}).status_code == 404


def test_documents_belong_to_their_uploader_reviewers_and_operators_see_all(model, tech, reviewer, operator):
    document = stored(tech)
    other = _user("tech2", "technician")
    assert client_for(other).get(f"/documents/{document.pk}/").status_code == 404
    assert client_for(other).get(f"/documents/{document.pk}/export.csv").status_code == 404
    assert "spec.pdf" not in client_for(other).get("/documents/").content.decode()
    for user in (tech, reviewer, operator):
        assert client_for(user).get(f"/documents/{document.pk}/").status_code == 200
        assert "spec.pdf" in client_for(user).get("/documents/").content.decode()


def test_a_documents_components_are_hidden_from_other_technicians_like_the_document(model, tech, reviewer):
    """Input tried: another technician asks for a component found in tech's document by page, API list, API detail
    and edit; their own form entry stays visible to everyone, as the shared inventory."""
    from rest_framework.test import APIClient

    document = stored(tech)
    found = document.segments.filter(component__isnull=False).first().component
    other = _user("tech2", "technician")
    own = Component.objects.create(text="Steel gear made in 2012 in good condition", created_by=other)
    api = APIClient()
    api.force_authenticate(other)
    assert client_for(other).get(f"/components/{found.pk}/").status_code == 404
    assert found.text not in client_for(other).get("/components/").content.decode()
    assert api.get(f"/api/v1/components/{found.pk}").status_code == 404
    listed = {c["id"] for c in api.get("/api/v1/components").json()["results"]}
    assert found.pk not in listed and own.pk in listed
    assert client_for(other).post(f"/components/{found.pk}/edit", {"text": "Steel hood 2020 good"}).status_code == 404
    found.refresh_from_db()
    assert found.text != "Steel hood 2020 good"
    for user in (tech, reviewer):
        assert client_for(user).get(f"/components/{found.pk}/").status_code == 200
    assert client_for(tech).get(f"/components/{own.pk}/").status_code == 200


def test_role_rules_for_uploading_and_correcting(model, tech, reviewer):
    assert upload(client_for(reviewer), ("spec.md", write_spec(spec_blocks(), "md"))).status_code == 403
    document = stored(tech, "md")
    segment = document.segments.filter(label__isnull=False).first()
    assert client_for(tech).post(f"/documents/{document.pk}/segments/{segment.index}/review", {"correct_label": 1}).status_code == 403
    assert Feedback.objects.count() == 0 and Document.objects.count() == 1
    nav = client_for(tech).get("/documents/").content.decode()
    assert 'href="/documents/"' in nav and 'id="upload-form"' in nav
    assert 'id="upload-form"' not in client_for(reviewer).get("/documents/").content.decode()


def test_an_upload_without_a_model_stores_nothing(db, tech):
    response = upload(client_for(tech), ("spec.md", write_spec(spec_blocks(), "md")))
    assert "no model is served" in response.content.decode()
    assert Document.objects.count() == Prediction.objects.count() == Component.objects.count() == DocumentSegment.objects.count() == 0


def test_uncertain_document_components_go_to_the_reviewers_queue(model, tech, reviewer, settings):
    """Input tried: a review band covering every probability, so each component found in the document is uncertain."""
    from webportal.portal.models import ReviewRequest

    settings.REVIEW_BAND = (0.0, 1.0)
    document = stored(tech, "md")
    found = set(document.segments.filter(component__isnull=False).values_list("component_id", flat=True))
    queued = set(ReviewRequest.objects.filter(reason="uncertain").values_list("component_id", flat=True))
    assert found and found == queued
    page = client_for(reviewer).get("/reviews/").content.decode()
    assert all(f'data-component="{pk}"' in page for pk in found)
