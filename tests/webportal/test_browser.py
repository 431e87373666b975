"""Headless Chromium (Debian package) through Playwright's Python client against a real gunicorn portal:
log in, classify, import a CSV with bad rows, correct a label, see the operations page; a technician
cannot open the operations page. One screenshot per page into test-artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.webportal.conftest import REPO, chromium_path, manage, portal_env

pytestmark = pytest.mark.browser
PASSWORD = "Browser-demo-pass-1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def portal(tmp_path_factory, migrated_sqlite, portal_bundle):
    """gunicorn on a migrated copy of the database, demo users in their roles, two monitoring reports."""
    import shutil

    from tests.webportal.conftest import Server

    root = tmp_path_factory.mktemp("browser")
    shutil.copyfile(migrated_sqlite, root / "portal.sqlite3")
    (root / "reports").mkdir()
    (root / "reports" / "drift-2.html").write_text("<html><body><h1>Drift report</h1></body></html>")
    # No review band: a technician's own "ask for a review" is what these pages test, and an uncertain label (the brass
    # fitting, a material the rule does not name) would already be queued (tests/webportal/test_evidence.py tests that).
    env = portal_env(root, MODEL_DIR=str(portal_bundle), PORTAL_DEMO_PASSWORD=PASSWORD, PORTAL_REVIEW_BAND="off")
    manage(env, "setup_roles", "--demo-users")
    with sqlite3.connect(root / "portal.sqlite3") as db:  # as the monitoring job would, outside Django
        now = datetime.now(UTC)
        for i, (status, share) in enumerate([("ok", 0.05), ("ok", 0.12), ("drift", 0.41)]):
            at = (now - timedelta(hours=3 - i)).strftime("%Y-%m-%d %H:%M:%S.%f")
            db.execute(
                "INSERT INTO portal_monitoring_report (kind, status, headline, model_version, rows, summary, html_report, created_at)"
                " VALUES ('drift', ?, ?, '1', 5000, ?, ?, ?)",
                (status, f"drift share {share:.0%}", json.dumps({"drift_share": share, "prediction_drift": {"score": share / 2}}),
                 "drift-2.html" if i == 2 else "", at),
            )  # fmt: skip
    server = Server(env, root / "gunicorn.log", workers=1)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser, portal, request):
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{portal.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, page.content()[:2000]
        return page

    yield open_as
    for context in contexts:
        context.close()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(f"\n----- gunicorn log -----\n{portal.logs()}")


def test_technician_classifies(page_for, portal, screenshots):
    page = page_for("tech")
    assert page.url.endswith("/classify/")
    page.fill("#id_text", "<script>document.title='pwned'</script> plastic hinge 1990")
    page.click("#classify-form button[type=submit]")
    page.locator("#result").wait_for()
    assert page.title() != "pwned" and "<script>" in page.locator("#result .text").inner_text()
    page.fill("#id_text", "Cast iron valve body made in 1987, fair condition")
    page.click("#classify-form button[type=submit]")
    page.locator("#result").wait_for()
    page.fill("#id_text", "Stainless steel bracket manufactured in 2012, good condition")
    page.click("#classify-form button[type=submit]")
    result = page.locator("#result")
    result.wait_for()
    assert "Stainless steel bracket" in result.inner_text()
    assert result.locator(".badge").inner_text() in ("compliant", "non-compliant")
    assert 0.0 <= float(page.locator("#probability").inner_text()) <= 1.0
    assert "decided by model version" in result.inner_text()
    page.screenshot(path=str(screenshots / "classify.png"), full_page=True)
    readme_shot = REPO / "docs" / "img" / "classify.png"  # refreshed on request only: tests leave tracked files alone
    if not readme_shot.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        readme_shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(readme_shot), full_page=True)


def test_technician_imports_csv_with_bad_rows(page_for, tmp_path, screenshots):
    page = page_for("tech")
    page.goto(page.url.replace("/classify/", "/components/import/"))
    csv_file = tmp_path / "descriptions.csv"
    csv_file.write_text(
        "text,notes\n"
        "Steel gear made in 2001 in good condition,ok\n"
        "   ,blank\n"
        "Iron axle made in 1970,poor,one field too many\n"
        "Carbon fiber panel manufactured 2019 new condition,ok\n"
    )
    page.set_input_files("#id_file", str(csv_file))
    page.click("#import-form button[type=submit]")
    page.locator("#import-result").wait_for()
    assert page.locator("#imported-count").inner_text() == "2"
    assert page.locator("#error-count").inner_text() == "2"
    rows = page.locator("#import-errors tbody tr").all_inner_texts()
    assert rows[0].startswith("3") and "empty" in rows[0]
    assert rows[1].startswith("4") and "fields" in rows[1]
    page.screenshot(path=str(screenshots / "import.png"), full_page=True)
    page.goto(page.url.replace("/components/import/", "/components/"))
    assert page.locator("#components tbody tr").count() >= 2
    page.screenshot(path=str(screenshots / "inventory.png"), full_page=True)


def test_technician_cannot_open_operations(page_for, portal, screenshots):
    page = page_for("tech")
    assert page.locator("nav a", has_text="Operations").count() == 0
    response = page.goto(f"{portal.url}/operations/")
    assert response.status == 403
    assert "Not allowed" in page.content()
    page.screenshot(path=str(screenshots / "operations-forbidden.png"), full_page=True)


def test_reviewer_corrects_label(page_for, portal, screenshots):
    page = page_for("reviewer")
    page.goto(f"{portal.url}/components/?q=bracket")
    page.locator("#components tbody tr a").first.click()
    page.wait_for_load_state()
    label = page.locator("#component-label").inner_text()
    correct = "non-compliant" if label.strip() == "compliant" else "compliant"
    page.check(f"#review input[value='{1 if correct == 'non-compliant' else 0}']")
    page.fill("#id_comment", "checked on site")
    page.click("#review button[type=submit]")
    page.wait_for_load_state()
    assert "label review is recorded" in page.content()
    assert correct in page.locator("#feedback tbody tr").first.inner_text()
    assert page.locator("form[action$='/edit']").count() == 0  # reviewers cannot edit descriptions
    page.screenshot(path=str(screenshots / "component-review.png"), full_page=True)


def test_operator_sees_operations(page_for, portal, screenshots):
    page = page_for("operator")
    page.goto(f"{portal.url}/operations/")
    served = page.locator("#served").inner_text()
    assert "Served model" in served and "loaded" in served
    assert page.locator("#reports tbody tr").count() == 3
    assert page.locator("#monitoring svg.chart").count() >= 2
    assert page.locator("#accuracy tbody tr").count() >= 1
    page.screenshot(path=str(screenshots / "operations.png"), full_page=True)
    page.locator("#reports a", has_text="open").first.click()  # the newest report, with an Evidently HTML
    page.wait_for_load_state()
    assert page.locator("#report-title").inner_text().startswith("Drift report #")
    assert page.title().startswith("Drift report #")
    assert "Drift report" in page.frame_locator("#report-frame").locator("h1").inner_text()
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    page.click("#back")
    page.wait_for_load_state()
    assert page.url.endswith("/operations/#monitoring")
    page.locator("#reports a", has_text="open").last.click()  # an older report without HTML still opens
    page.wait_for_load_state()
    assert page.locator("#report-headline").inner_text().startswith("drift share")
    page.click("#back")
    page.wait_for_load_state()
    page.click("text=Reload model")
    page.wait_for_load_state()
    assert "Model reloaded" in page.content()


def test_each_role_lands_on_its_page(page_for):
    assert page_for("tech").url.endswith("/classify/")
    assert page_for("operator").url.endswith("/operations/")
    assert page_for("reviewer").url.endswith("/reviews/")


def test_technician_asks_for_review_and_reviewer_answers(page_for, portal, screenshots):
    tech = page_for("tech")
    tech.fill("#id_text", "Brass elbow fitting made in 1996, good condition")
    tech.click("#classify-form button[type=submit]")
    tech.locator("#result a", has_text="Open").click()
    tech.wait_for_load_state()
    component_url = tech.url
    tech.fill("#ask-review #id_note", "the year looks misread")
    tech.click("#ask-review button[type=submit]")
    tech.wait_for_load_state()
    assert "reviewers' queue" in tech.content()
    reviewer = page_for("reviewer")
    row = reviewer.locator("#queue tbody tr", has_text="Brass elbow fitting")
    assert "the year looks misread" in row.inner_text() and "tech" in row.inner_text()
    reviewer.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)
    row.locator("a").first.click()
    reviewer.wait_for_load_state()
    model_label = reviewer.locator("#component-label").inner_text().strip()
    other = 0 if model_label == "non-compliant" else 1
    reviewer.check(f"#review input[value='{other}']")
    reviewer.click("#review button[type=submit]")
    reviewer.wait_for_load_state()
    assert "disputed by reviewer" in reviewer.locator("#reviewed-label").inner_text()
    reviewer.goto(f"{portal.url}/reviews/")
    assert reviewer.locator("#queue tbody tr", has_text="Brass elbow fitting").count() == 0
    tech.goto(component_url)
    assert "disputed by reviewer" in tech.locator("#reviewed-label").inner_text()
    tech.goto(f"{portal.url}/components/?review=disputed")
    assert tech.locator("#components tbody tr", has_text="Brass elbow fitting").count() == 1
    tech.screenshot(path=str(screenshots / "inventory-disputed.png"), full_page=True)
