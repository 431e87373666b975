"""Evidence and review in the portal: the API's evidence and needs_review fields (and their schema), the evidence
stored on the component and highlighted (escaped) on its page, the review band's setting, and the reviewers' queue
of uncertain classifications, most uncertain first."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.webportal.conftest import client_for
from webportal.portal import reviews, services
from webportal.portal.models import Component, ReviewRequest
from webportal.portal.templatetags.portal_extras import highlight

pytestmark = pytest.mark.django_db


def test_classify_api_returns_evidence_and_needs_review(model, api):
    text = "Manufactured in 1985 made of steel in fair condition"
    body = api.post("/api/v1/classify", {"text": text}, format="json").json()
    words = [e["word"] for e in body["evidence"]]
    assert {"1985", "fair"} <= set(words) and body["needs_review"] is False and body["label"] == 1
    assert all(text[e["start"] : e["end"]] == e["word"] and e["weight"] > 0 for e in body["evidence"])
    batch = api.post("/api/v1/classify", {"texts": [text, "Plastic cover 2011, new"]}, format="json").json()["results"]
    assert [r["evidence"][0]["word"] for r in batch][1] == "Plastic"
    component = api.post("/api/v1/components", {"text": text}, format="json").json()
    assert {"1985", "fair"} <= {e["word"] for e in component["evidence"]} and component["needs_review"] is False


def test_the_api_schema_documents_evidence(tech):
    schema = client_for(tech).get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "ClassificationOut" in schema and "needs_review" in schema and "EvidenceOut" in schema


def test_the_component_page_highlights_its_evidence(model, tech):
    component = services.component_create(text="<b>x</b> Manufactured in 1985 made of steel in fair condition", user=tech)
    assert "fair" in {e["word"] for e in component.evidence_list()}
    page = client_for(tech).get(f"/components/{component.pk}/").content.decode()
    assert '<mark class="evidence" title="evidence, weight' in page and ">fair</mark>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # the text stays escaped around the marks


def test_highlight_escapes_and_skips_spans_that_do_not_match():
    text = '<img src=x onerror="alert(1)"> iron 1985'
    spans = [{"word": "iron", "start": 31, "end": 35, "weight": 2.0}, {"word": "img", "start": 1, "end": 4, "weight": 1.0}]
    out = str(highlight(text, spans))
    assert "<img" not in out and "&lt;<mark" in out and ">iron</mark>" in out
    assert str(highlight(text, [{"word": "steel", "start": 31, "end": 35}])) == str(highlight(text, []))  # stale span
    assert ">1985<" not in str(highlight(text, "not json")) and str(highlight(None, None)) == ""


def test_an_uncertain_classification_is_queued_most_uncertain_first(model, tech, reviewer, settings):
    settings.REVIEW_BAND = (0.0, 1.0)  # everything is uncertain: every classification is queued
    created = [services.component_create(text=t, user=tech) for t in ("Steel gear 2012 good", "Iron pipe 1980", "gizmo")]
    assert ReviewRequest.objects.filter(reason=ReviewRequest.Reason.UNCERTAIN).count() == 3
    by_margin = sorted(created, key=lambda c: abs(c.probability - 0.5))
    queue = reviews.review_queue()
    assert [r.component.pk for r in queue] == [c.pk for c in by_margin]
    page = client_for(reviewer).get("/reviews/").content.decode()
    order = [page.index(f'data-component="{c.pk}"') for c in by_margin]
    assert order == sorted(order)
    settings.REVIEW_BAND = (0.2, 0.8)
    confident = services.component_create(text="Manufactured in 1985 made of steel in fair condition", user=tech)
    assert not ReviewRequest.objects.filter(component=confident).exists()


def test_the_queue_orders_by_distance_from_the_threshold(db):
    made = []
    for p in (0.95, 0.45, None, 0.7, 0.52):  # None: a pending component goes last
        component = Component.objects.create(text=f"p={p}", probability=p)
        reviews.request_review(component=component, reason=ReviewRequest.Reason.UNCERTAIN)
        made.append(component)
    assert [r.component.probability for r in reviews.review_queue()] == [0.52, 0.45, 0.7, 0.95, None]


def test_needs_review_marks_the_component_page(model, tech, settings):
    settings.REVIEW_BAND = (0.0, 1.0)
    component = services.component_create(text="Steel gear 2012 good", user=tech)
    assert 'id="needs-review"' in client_for(tech).get(f"/components/{component.pk}/").content.decode()


def test_the_document_limits_come_from_the_environment():
    """Inputs tried: unset (the documented defaults), set, not a number, zero; the CLI's Limits read the same names."""
    from ml.documents.limits import Limits
    from webportal.env import load

    base = {"SECRET_KEY": "x" * 40}
    env = load(base)
    assert (env.document_max_mb, env.document_max_pages, env.document_max_files) == (20, 500, 20)
    env = load(base | {"DOCUMENT_MAX_MB": "5", "DOCUMENT_MAX_PAGES": "40", "DOCUMENT_MAX_FILES": "3"})
    assert (env.document_max_mb, env.document_max_pages, env.document_max_files) == (5, 40, 3)
    assert Limits.from_env({"DOCUMENT_MAX_MB": "5", "DOCUMENT_MAX_PAGES": "40"}) == Limits(max_bytes=5 * 1_048_576, max_pages=40)
    for name, bad in (("DOCUMENT_MAX_MB", "big"), ("DOCUMENT_MAX_PAGES", "0")):
        with pytest.raises(ImproperlyConfigured, match=name):
            load(base | {name: bad})


def test_the_review_band_setting():
    from webportal.env import load

    base = {"SECRET_KEY": "x" * 40}
    assert load(base).review_band == (0.2, 0.8)
    assert load(base | {"PORTAL_REVIEW_BAND": "0.3..0.6"}).review_band == (0.3, 0.6)
    low, high = load(base | {"PORTAL_REVIEW_BAND": "off"}).review_band
    assert low > high  # an empty band: nothing needs review
    for bad in ("0.8..0.2", "0.2-0.8", "a..b", "0..1.5"):  # reversed, no '..', not numbers, above 1
        with pytest.raises(ImproperlyConfigured, match="PORTAL_REVIEW_BAND"):
            load(base | {"PORTAL_REVIEW_BAND": bad})
