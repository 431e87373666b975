"""Headless Chromium against a real gunicorn portal (the fixtures of test_browser.py): the evidence words are
highlighted on the classify result and the component page, and a script in the description stays inert text."""

from __future__ import annotations

import pytest

from tests.webportal.test_browser import browser, page_for, portal  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser


def test_the_evidence_is_highlighted_and_scripts_stay_inert(page_for, screenshots):  # noqa: F811
    page = page_for("tech")
    page.fill("#id_text", "<script>document.title='pwned'</script> Manufactured in 1985 made of steel in fair condition")
    page.click("#classify-form button[type=submit]")
    page.locator("#result").wait_for()
    marks = page.locator("#result mark.evidence").all_inner_texts()
    assert "fair" in marks, marks
    assert page.title() != "pwned" and "<script>" in page.locator("#result .text").inner_text()
    page.click("#result a:has-text('Open #')")
    page.locator("#component-text").wait_for()
    marked = page.locator("#component-text mark.evidence").all_inner_texts()
    assert "fair" in marked and set(marked) <= {"fair", "1985", "steel", "Manufactured", "script", "document", "title", "pwned"}
    assert "fair" in page.locator("#evidence").inner_text()
    assert page.title() != "pwned" and "<script>" in page.locator("#component-text").inner_text()
    background = page.locator("#component-text mark.evidence").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # the highlight is visible
    page.screenshot(path=str(screenshots / "evidence.png"), full_page=True)
