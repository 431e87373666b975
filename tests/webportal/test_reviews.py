"""Corrections made visible (component page, inventory, CSV export, the review filter), the reviewers' queue fed by a
technician's "ask for review", and the operators' report pages. Real Django auth and a real bundle."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.webportal.conftest import client_for
from webportal.portal import reviews, services
from webportal.portal.models import Component, MonitoringReport, ReviewRequest

pytestmark = pytest.mark.django_db


def _three(tech, reviewer):
    """One component confirmed by the reviewer, one disputed, one never reviewed."""
    confirmed = services.component_create(text="Steel gear made in 2012, good condition", user=tech)
    disputed = services.component_create(text="Carbon fiber bracket, 2015, new condition", user=tech)
    untouched = services.component_create(text="Aluminium hinge made in 2010, good condition", user=tech)
    services.feedback_create(component=confirmed, correct_label=confirmed.label, reviewer=reviewer)
    services.feedback_create(component=disputed, correct_label=1 - disputed.label, comment="it is plastic", reviewer=reviewer)
    return confirmed, disputed, untouched


def test_the_reviewed_label_shows_beside_the_models_with_who_and_when(model, tech, reviewer):
    confirmed, disputed, _ = _three(tech, reviewer)
    page = client_for(tech).get(f"/components/{disputed.pk}/").content.decode()
    reviewed = page[page.index('id="reviewed-label"') :][:900]
    assert 'data-state="disputed"' in reviewed and "by reviewer" in reviewed
    assert ("non-compliant" if disputed.label == 0 else "compliant") in reviewed  # the reviewer's label, not the model's
    page = client_for(tech).get(f"/components/{confirmed.pk}/").content.decode()
    assert 'data-state="reviewed"' in page and "confirmed by reviewer" in page


def test_the_inventory_filters_by_review_state(model, tech, reviewer):
    confirmed, disputed, untouched = _three(tech, reviewer)
    client = client_for(tech)
    for state, expected in (("reviewed", confirmed), ("disputed", disputed), ("unreviewed", untouched)):
        page = client.get("/components/", {"review": state}).content.decode()
        assert f'href="/components/{expected.pk}/"' in page, state
        others = {confirmed.pk, disputed.pk, untouched.pk} - {expected.pk}
        assert not any(f'href="/components/{pk}/"' in page for pk in others), state
    assert 'data-state="disputed"' in client.get("/components/").content.decode()


def test_the_csv_export_carries_the_review(model, tech, reviewer):
    confirmed, disputed, untouched = _three(tech, reviewer)
    body = b"".join(client_for(tech).get("/components/export.csv").streaming_content).decode()
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(body))}
    assert rows[disputed.pk]["review_state"] == "disputed"
    assert rows[disputed.pk]["reviewed_label"] == str(1 - disputed.label) and rows[disputed.pk]["reviewed_by"] == "reviewer"
    assert rows[disputed.pk]["reviewed_at"] and rows[disputed.pk]["label"] == str(disputed.label)
    assert rows[confirmed.pk]["review_state"] == "reviewed"
    assert rows[untouched.pk]["review_state"] == "unreviewed" and rows[untouched.pk]["reviewed_by"] == ""
    filtered = b"".join(client_for(tech).get("/components/export.csv", {"review": "disputed"}).streaming_content).decode()
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(filtered))] == [disputed.pk]


def test_ask_for_review_fills_the_queue_and_a_review_empties_it(model, tech, reviewer):
    component = services.component_create(text="Iron valve made in 1999, good condition", user=tech)
    assert client_for(reviewer).get("/reviews/").content.decode().count('id="queue-empty"') == 1
    page = client_for(tech).get(f"/components/{component.pk}/").content.decode()
    assert "Ask for review" in page
    response = client_for(tech).post(f"/components/{component.pk}/ask-review", {"note": "it says iron but looks steel"})
    assert response.status_code == 302
    client_for(tech).post(f"/components/{component.pk}/ask-review", {"note": "again"})  # asking twice: still one request
    assert ReviewRequest.objects.filter(component=component, resolved_at__isnull=True).count() == 1
    queue = client_for(reviewer).get("/reviews/").content.decode()
    assert f'href="/components/{component.pk}/#review"' in queue and "it says iron but looks steel" in queue and "tech" in queue
    assert client_for(tech).get("/reviews/").status_code == 403  # the queue is the reviewers'
    assert client_for(reviewer).post(f"/components/{component.pk}/ask-review").status_code == 403
    client_for(reviewer).post(f"/components/{component.pk}/feedback", {"correct_label": 1, "comment": "checked"})
    request = ReviewRequest.objects.get(component=component)
    assert request.resolved_by.username == "reviewer" and request.feedback is not None
    queue = client_for(reviewer).get("/reviews/").content.decode()
    assert 'id="queue-empty"' in queue and 'id="resolved"' in queue


def test_an_uncertain_classification_can_be_queued(model, tech, reviewer):
    component = services.component_create(text="Brass fitting made in 1996, good condition", user=tech)
    reviews.request_review(component=component, reason=ReviewRequest.Reason.UNCERTAIN)
    queue = client_for(reviewer).get("/reviews/").content.decode()
    assert "the model was uncertain" in queue and f"/components/{component.pk}/" in queue


def _report(tmp_path, settings, kind, *, html=True):
    settings.REPORTS_DIR = tmp_path
    files = {"charts": str(tmp_path / f"{kind}.png"), "json": str(tmp_path / f"{kind}.json")}
    (tmp_path / f"{kind}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    (tmp_path / f"{kind}.json").write_text("{}")
    if html:
        files["html"] = str(tmp_path / f"{kind}.html")
        (tmp_path / f"{kind}.html").write_text("<html><body>evidently</body></html>")
    summary = {"files": files, "metrics": {"rows": 300.0, "text_roc_auc": 0.51}}
    return MonitoringReport.objects.create(
        kind=kind, status="ok", headline=f"{kind} looks fine", rows=300, summary=json.dumps(summary), html_report=files.get("html", "")
    )


@pytest.mark.parametrize("kind", ["drift", "performance"])
def test_every_report_opens_with_a_title_and_a_way_back(kind, operator, tmp_path, settings):
    report = _report(tmp_path, settings, kind, html=kind == "drift")
    client = client_for(operator)
    assert f'href="/operations/reports/{report.pk}/"' in client.get("/operations/").content.decode()
    page = client.get(f"/operations/reports/{report.pk}/").content.decode()
    title = "Drift report" if kind == "drift" else "Performance report"
    assert f"<title>{title} #{report.pk}" in page and 'id="back"' in page and 'href="/operations/#monitoring"' in page
    assert f"{kind} looks fine" in page and "text_roc_auc" in page
    png = client.get(f"/operations/reports/{report.pk}/files/charts")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert client.get(f"/operations/reports/{report.pk}/files/json")["Content-Type"] == "application/json"
    html = client.get(f"/operations/reports/{report.pk}/files/html")
    assert html.status_code == (200 if kind == "drift" else 404)


def test_a_report_file_outside_the_reports_folder_is_refused(operator, tmp_path, settings):
    (tmp_path / "reports").mkdir()
    report = _report(tmp_path / "reports", settings, "drift")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG")
    report.summary = json.dumps({"files": {"charts": str(outside), "other": "../secret.png"}})
    report.html_report = ""
    report.save()
    client = client_for(operator)
    assert client.get(f"/operations/reports/{report.pk}/files/charts").status_code == 404
    assert client.get(f"/operations/reports/{report.pk}/files/other").status_code == 404


def test_the_empty_operations_page_names_the_command(operator):
    page = client_for(operator).get("/operations/").content.decode()
    assert 'id="no-reports"' in page and "python -m monitoring drift" in page


def test_chart_titles_are_captions_that_wrap(operator):
    import datetime as dt

    from webportal.portal.charts import line_chart

    long = "drift: score_text_descriptor_unseen_word_share_of_the_current_window"
    chart = line_chart([(dt.datetime(2026, 1, 1), 0.1), (dt.datetime(2026, 1, 2), 0.2)], title=long)
    assert f'<figcaption class="chart-title">{long}</figcaption>' in chart and '<text class="chart-title"' not in chart
    assert Component.objects.count() == 0
