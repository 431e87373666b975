"""Pages for specification documents: upload and list, the highlighted document, exports, the printable
report, and a reviewer's correction of one component (recorded as any component's review)."""

from __future__ import annotations

import csv
import io
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ml.documents import DocumentError, safe_filename
from webportal.portal import documents_selectors as sel
from webportal.portal import services
from webportal.portal.csv_import import csv_safe
from webportal.portal.documents_services import document_upload
from webportal.portal.forms import FeedbackForm

CSV_COLUMNS = (
    "file", "verdict", "index", "kind", "page", "paragraph", "table", "row", "start", "end", "text",
    "label", "label_name", "probability", "component_score", "reviewed_label", "reason",
)  # fmt: skip


def _upload(request) -> None:
    files = request.FILES.getlist("file")
    if not files:
        messages.error(request, "Choose one or more files to upload.")
        return
    if len(files) > settings.DOCUMENT_MAX_FILES:
        messages.error(request, f"Upload at most {settings.DOCUMENT_MAX_FILES} files at a time.")
        return
    for upload in files:
        name = safe_filename(upload.name)
        try:
            if upload.size > settings.DOCUMENT_MAX_BYTES:
                raise DocumentError(f"the file is over the {settings.DOCUMENT_MAX_BYTES // 1_048_576} MB limit", code="too_large")
            document = document_upload(data=upload.read(), filename=upload.name, user=request.user)
        except DocumentError as exc:
            messages.error(request, f"{name}: {exc}. Nothing was stored.")
        except services.ModelUnavailable:
            messages.error(request, f"{name}: no model is served, so it cannot be scanned now. Nothing was stored.")
        else:
            messages.success(
                request,
                f"{document.filename}: {document.verdict} ({document.components} components, {document.non_compliant} non-compliant).",
            )


@permission_required("portal.view_component", raise_exception=True)
@require_http_methods(["GET", "POST"])
def documents(request):
    if request.method == "POST":
        if not request.user.has_perm("portal.add_component"):
            raise PermissionDenied
        _upload(request)
        return redirect("portal:documents")
    page = Paginator(sel.document_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/documents/list.html",
        {"page": page, "max_mb": settings.DOCUMENT_MAX_BYTES // 1_048_576, "max_files": settings.DOCUMENT_MAX_FILES},
    )


def _visible(request, pk: int):
    document = sel.document_get(user=request.user, pk=pk)
    if document is None:
        raise Http404("no such document")
    return document


def _context(request, pk: int) -> dict:
    document = _visible(request, pk)
    segments = list(document.segments.select_related("component"))
    reviews = sel.reviewed_labels(document)
    findings = [(s, reviews.get(s.component_id)) for s in segments]
    reviewed = [r.correct_label if r else s.label for s, r in findings if s.is_component]
    reviewed_verdict = "no components" if not reviewed else "non-compliant" if any(reviewed) else "compliant"
    return {
        "document": document,
        "pieces": sel.highlighted(document, segments, reviews),
        "findings": findings,
        "reviews": len(reviews),
        "reviewed_verdict": reviewed_verdict,
    }


@permission_required("portal.view_component", raise_exception=True)
@require_GET
def document_detail(request, pk: int):
    return render(request, "portal/documents/detail.html", {**_context(request, pk), "feedback_form": FeedbackForm()})


@permission_required("portal.view_component", raise_exception=True)
@require_GET
def document_report(request, pk: int):
    return render(request, "portal/documents/report.html", _context(request, pk))


def csv_rows(data: dict) -> list[dict]:
    segments = [{**c, "reason": ""} for c in data["components"]]
    segments += [{**s, "label": "", "label_name": "", "probability": "", "reviewed_label": ""} for s in data["skipped"]]
    rows = []
    for segment in sorted(segments, key=lambda s: s["index"]):
        row = {"file": data["filename"], "verdict": data["verdict"], **{k: segment.get(k) for k in CSV_COLUMNS[2:]}}
        row["text"] = csv_safe(row["text"])
        rows.append(row)
    return rows


@permission_required("portal.view_component", raise_exception=True)
@require_GET
def document_export(request, pk: int, fmt: str):
    if fmt not in ("csv", "json"):
        raise Http404("exports are .csv or .json")
    document = _visible(request, pk)
    data = sel.document_json(document)
    stem = document.filename.rsplit(".", 1)[0] or "document"
    if fmt == "json":
        response = HttpResponse(json.dumps(data, indent=1, ensure_ascii=False), content_type="application/json; charset=utf-8")
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(csv_rows(data))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    safe_stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:100]
    response["Content-Disposition"] = f'attachment; filename="{safe_stem}-findings.{fmt}"'
    return response


@permission_required("portal.add_feedback", raise_exception=True)
@require_POST
def document_review(request, pk: int, index: int):
    document = _visible(request, pk)
    segment = document.segments.filter(index=index).select_related("component").first()
    if segment is None or segment.component is None:
        raise Http404("no such component in this document")
    form = FeedbackForm(request.POST)
    if form.is_valid():
        services.feedback_create(
            component=segment.component,
            correct_label=form.cleaned_data["correct_label"],
            comment=form.cleaned_data["comment"],
            reviewer=request.user,
        )
        messages.success(request, f"Review recorded for component {index + 1}.")
    else:
        messages.error(request, "Choose the correct label.")
    return redirect(reverse("portal:document", args=[document.pk]) + f"#finding-{index}")
