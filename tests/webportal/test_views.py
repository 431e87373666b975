"""HTML pages with real Django auth: what each role may open (including by direct URL), forms, export, probes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.test import Client

from tests.webportal.conftest import client_for
from webportal.portal import services
from webportal.portal.models import Component, Feedback, MonitoringReport

pytestmark = pytest.mark.django_db

PAGES = ["/classify/", "/components/", "/components/import/", "/components/export.csv", "/operations/", "/reviews/"]
ALLOWED = {
    "tech": {"/classify/", "/components/", "/components/import/", "/components/export.csv"},
    "reviewer": {"/components/", "/reviews/"},
    "operator": {"/components/", "/operations/"},
}


def test_everything_requires_login(db):
    client = Client()
    for url in [*PAGES, "/", "/components/1/", "/operations/reports/1/", "/operations/reports/1/html"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    metrics = client.get("/metrics")  # a scraper gets a status it can act on, not a login page
    assert metrics.status_code == 401 and metrics["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200  # the probe stays open


@pytest.mark.parametrize("role", ["tech", "reviewer", "operator"])
def test_each_role_sees_only_its_pages(role, request, model):
    user = request.getfixturevalue({"tech": "tech", "reviewer": "reviewer", "operator": "operator"}[role])
    client = client_for(user)
    for url in PAGES:
        expected = 200 if url in ALLOWED[role] else 403
        assert client.get(url).status_code == expected, (role, url)
    nav = client.get("/components/").content.decode()
    assert ('href="/operations/"' in nav) == (role == "operator")
    assert ('href="/classify/"' in nav) == (role == "tech")


def test_reviewer_cannot_post_technician_actions(model, tech, reviewer):
    component = services.component_create(text="Steel gear made in 2001, good condition", user=tech)
    client = client_for(reviewer)
    assert client.post("/classify/", {"text": "steel"}).status_code == 403
    assert client.post(f"/components/{component.pk}/edit", {"text": "iron"}).status_code == 403
    assert client_for(tech).post(f"/components/{component.pk}/feedback", {"correct_label": 1}).status_code == 403
    assert client_for(tech).post("/operations/reload").status_code == 403


def test_home_redirects_by_role(tech, reviewer, operator):
    assert client_for(tech).get("/")["Location"] == "/classify/"
    assert client_for(reviewer).get("/")["Location"] == "/reviews/"
    assert client_for(operator).get("/")["Location"] == "/operations/"


def test_classify_page_shows_label_probability_and_version(model, tech):
    response = client_for(tech).post("/classify/", {"text": "Steel bracket manufactured in 2012 in good condition"})
    html = response.content.decode()
    component = Component.objects.get()
    assert response.status_code == 200
    assert component.label_name in html
    assert f"{component.probability:.3f}" in html
    assert model.current.version in html


def test_classify_page_rejects_blank(model, tech):
    response = client_for(tech).post("/classify/", {"text": "   "})
    assert "must not be empty" in response.content.decode()
    assert Component.objects.count() == 0


def test_login_throttled_after_failures(tech, settings):
    """Five wrong passwords lock the account out, even with the right password afterwards."""
    cache.clear()
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        response = client.post("/accounts/login/", {"username": "tech", "password": "wrong"})
        assert response.status_code == 200 and "Too many" not in response.content.decode()
    response = client.post("/accounts/login/", {"username": "tech", "password": "pw-tech-Secret1"})
    assert "Too many failed sign-in attempts" in response.content.decode()
    cache.clear()
    assert client.post("/accounts/login/", {"username": "tech", "password": "pw-tech-Secret1"}).status_code == 302


def test_inventory_filters_and_paging(model, tech, reviewer):
    for i in range(30):
        services.component_create(text=f"Steel gear number {i} made in 2001, good condition", user=tech if i % 2 else reviewer)
    client = client_for(tech)
    page1 = client.get("/components/").content.decode()
    assert "30 components" in page1 and "page 1 of 2" in page1
    assert "page 2 of 2" in client.get("/components/?page=2").content.decode()
    assert "15 components" in client.get("/components/?created_by=tech").content.decode()
    assert "1 component" in client.get("/components/?q=number+7+").content.decode()
    assert "0 components" in client.get("/components/?date_from=2999-01-01").content.decode()


def test_edit_and_feedback_pages(model, tech, reviewer):
    component = services.component_create(text="Steel gear made in 2001, good condition", user=tech)
    response = client_for(tech).post(f"/components/{component.pk}/edit", {"text": "Iron gear made in 1970, poor condition"}, follow=True)
    assert "Iron gear made in 1970" in response.content.decode()
    response = client_for(reviewer).post(
        f"/components/{component.pk}/feedback", {"correct_label": "1", "comment": "<b>bold</b>"}, follow=True
    )
    html = response.content.decode()
    assert Feedback.objects.get().correct_label == 1
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_export_csv_neutralises_formulas(model, tech):
    services.component_create(text='=HYPERLINK("http://x") steel 2001', user=tech)
    services.component_create(text="Plain steel gear 2001 good", user=tech)
    response = client_for(tech).get("/components/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    assert {r["text"] for r in rows} == {'\'=HYPERLINK("http://x") steel 2001', "Plain steel gear 2001 good"}


def test_import_page_reports_rows(model, tech):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.csv", b"text\nsteel gear 2001 good\n\nIron,extra\n  \n", content_type="text/csv")
    html = client_for(tech).post("/components/import/", {"file": upload, "key": "abc"}).content.decode()
    assert 'id="imported-count">1<' in html and 'id="error-count">2<' in html
    progress = client_for(tech).get("/components/import/progress?key=abc").json()
    assert progress["status"] == "done" and progress["processed"] == progress["total"] == 3


def test_operations_page_and_report(model, operator, tech, settings, tmp_path):
    settings.REPORTS_DIR = tmp_path
    (tmp_path / "r1.html").write_text("<html><body>evidently report</body></html>")
    services.component_create(text="Steel gear made in 2001, good condition", user=tech)
    for i in range(3):
        MonitoringReport.objects.create(
            kind="drift",
            status="ok",
            headline=f"<i>run {i}</i>",
            rows=10,
            summary=json.dumps({"drift_share": i / 10}),
            html_report="r1.html",
        )
    client = client_for(operator)
    html = client.get("/operations/").content.decode()
    assert model.current.version in html
    assert "<svg" in html and "drift: drift_share" in html
    assert "&lt;i&gt;run 0&lt;/i&gt;" in html
    report = MonitoringReport.objects.first()
    response = client.get(f"/operations/reports/{report.pk}/html")
    assert response.status_code == 200 and b"evidently report" in b"".join(response.streaming_content)
    assert "sandbox" in response["Content-Security-Policy"]
    report.html_report = "../outside.html"
    report.save()
    assert client.get(f"/operations/reports/{report.pk}/html").status_code == 404
    assert client_for(tech).get(f"/operations/reports/{report.pk}/html").status_code == 403


def test_healthz_and_metrics(model, operator, tech, settings):
    services.component_create(text="Steel gear made in 2001, good condition", user=tech)
    health = client_for(operator).get("/healthz").json()  # the details: operators (or HEALTH_TOKEN) only
    assert health["model_loaded"] and health["model_version"] == model.current.version and health["database"] == "ok"
    client = client_for(operator)
    client.get("/components/")
    text = client.get("/metrics").content.decode()
    assert "portal_http_requests_total" in text and 'route="portal:components"' in text
    assert "portal_http_request_duration_seconds_bucket" in text
    assert "portal_predictions_total{label=" in text
    assert f'version="{model.current.version}"' in text
    assert client_for(tech).get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "scrape-token"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_app_version_on_login_page_and_healthz(db, settings):
    """The pipeline's deploy stage checks the visible app version (webportal/version.py)."""
    from webportal.version import APP_VERSION

    settings.PORTAL_ENVIRONMENT = "staging"
    page = Client().get("/accounts/login/").content.decode()
    assert f"Technician portal {APP_VERSION}" in page and "staging" in page
    settings.HEALTH_TOKEN = "health-token"
    health = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer health-token").json()
    assert health["app_version"] == APP_VERSION and health["environment"] == "staging"


def test_healthz_without_model(db):
    assert Client().get("/healthz").json() == {"status": "degraded"}


def test_readiness_probe_fails_until_a_model_is_loaded(db, model):
    """The Kubernetes probes (deploy/k8s): `?probe=ready` keeps a pod out of the Service while no model is served;
    `?probe=live` only says the process answers."""
    from webportal.portal import serving

    assert Client().get("/healthz?probe=ready").status_code == 200
    serving.set_holder(serving.ModelHolder())  # a replica whose MODEL_URI could not be resolved yet
    not_ready = Client().get("/healthz?probe=ready")
    assert not_ready.status_code == 503 and not_ready.json() == {"status": "degraded"}
    assert Client().get("/healthz").status_code == 200  # the plain report stays 200: only the database makes it 503
    assert Client().get("/healthz?probe=live").status_code == 200
    wrong = Client().get("/healthz?probe=startup")  # not a probe mode: said plainly
    assert wrong.status_code == 400 and "live, ready" in wrong.json()["error"]


def test_probes_and_metrics_answer_a_pod_ip_host_other_pages_do_not(db, settings):
    """Kubelet and Prometheus send Host: <pod IP>:8000, which ALLOWED_HOSTS does not list."""
    settings.METRICS_TOKEN = "scrape-token"
    for host in ("10.244.1.7:8000", "10.244.1.7", "[fd00::7]:8000"):
        assert Client().get("/healthz?probe=live", HTTP_HOST=host).status_code == 200, host
        assert Client().get("/metrics", HTTP_HOST=host, HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200, host
    assert Client().get("/accounts/login/", HTTP_HOST="10.244.1.7:8000").status_code == 400
    assert Client().get("/healthz", HTTP_HOST="evil.example.org").status_code == 400  # named hosts are still checked
