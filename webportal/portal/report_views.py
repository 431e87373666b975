"""The operators' report pages: one page per monitoring report (title, headline, charts, the way back), and its files.

A report's files are what the monitoring job wrote (summary `files`: html, charts, json); each is served only when it
resolves inside REPORTS_DIR.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from webportal.portal import selectors
from webportal.portal.models import MonitoringReport

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8", ".png": "image/png", ".json": "application/json"}


@permission_required("portal.view_operations", raise_exception=True)
@require_GET
def report_page(request, pk: int):
    report = get_object_or_404(MonitoringReport, pk=pk)
    files = selectors.report_files(report=report)
    summary = report.summary_data()
    metrics = summary.get("metrics") if isinstance(summary.get("metrics"), dict) else {}
    return render(
        request,
        "portal/report.html",
        {"report": report, "files": files, "metrics": sorted(metrics.items()), "title": selectors.report_title(report=report)},
    )


@permission_required("portal.view_operations", raise_exception=True)
@require_GET
def report_file(request, pk: int, name: str):
    report = get_object_or_404(MonitoringReport, pk=pk)
    path = selectors.report_files(report=report).get(name)
    if path is None or path.suffix.lower() not in CONTENT_TYPES:
        raise Http404("report file not available")
    response = FileResponse(path.open("rb"), content_type=CONTENT_TYPES[path.suffix.lower()])
    if path.suffix.lower() in (".html", ".htm"):
        # The report is Evidently's self-contained HTML: isolate it from the portal's origin.
        response["Content-Security-Policy"] = "sandbox allow-scripts; default-src 'self' 'unsafe-inline' data: blob:"
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@permission_required("portal.view_operations", raise_exception=True)
@require_GET
def report_html(request, pk: int):
    """The old address of a drift report's HTML (kept for links already shared)."""
    return report_file(request, pk, "html")
