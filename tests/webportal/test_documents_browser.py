"""Headless Chromium against a real gunicorn portal: a technician uploads a PDF and sees the highlights, a
reviewer corrects one component, and the findings export as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ml.data.spec_files import write_spec
from tests.ml.spec_blocks import spec_blocks
from tests.webportal.test_browser import browser, page_for, portal  # noqa: F401  (the same server and browser fixtures)

pytestmark = pytest.mark.browser


def test_upload_a_pdf_see_highlights_correct_one_and_export_csv(page_for, tmp_path, screenshots):  # noqa: F811
    pdf = tmp_path / "vehicle-spec.pdf"
    pdf.write_bytes(write_spec(spec_blocks(), "pdf"))
    tech = page_for("tech")
    tech.goto(tech.url.replace("/classify/", "/documents/"))
    tech.set_input_files("#id_file", str(pdf))
    tech.click("#upload-form button[type=submit]")
    tech.wait_for_load_state()
    row = tech.locator("#documents tbody tr", has_text="vehicle-spec.pdf")
    assert row.locator(".badge").inner_text() in ("compliant", "non-compliant")
    assert "7" in row.inner_text()
    row.locator("a", has_text="vehicle-spec.pdf").click()
    tech.wait_for_load_state()
    text = tech.locator("#document-text")
    assert text.locator(".seg.red").count() + text.locator(".seg.green").count() == 7
    assert text.locator(".seg.grey").count() == 5
    assert "rear axle" in text.inner_text()
    document_url = tech.url
    tech.screenshot(path=str(screenshots / "document.png"), full_page=True)

    reviewer = page_for("reviewer")
    reviewer.goto(document_url)
    finding = reviewer.locator("#findings tbody tr", has_text="rear axle")
    model_label = finding.locator(".badge").first.inner_text()
    corrected = "compliant" if model_label == "non-compliant" else "non-compliant"
    finding.locator("select[name=correct_label]").select_option(label=corrected)
    finding.locator("button[type=submit]").click()
    reviewer.wait_for_load_state()
    assert "Review recorded" in reviewer.locator("ul.messages").inner_text()
    reviewed = reviewer.locator("#findings tbody tr", has_text="rear axle")
    assert reviewed.locator("[id^=review-]").inner_text() == corrected
    with reviewer.expect_download() as download_info:
        reviewer.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 12
    axle = next(r for r in rows if "rear axle" in r["text"])
    assert axle["reviewed_label"] == ("1" if corrected == "non-compliant" else "0") and axle["label_name"] == model_label
