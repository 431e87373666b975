"""HTML pages. Thin: parse input, call a service or selector, render. (Probes: webportal.portal.probes.)"""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webportal.portal import charts, csv_import, outage, selectors, services, serving
from webportal.portal.forms import DescriptionForm, FeedbackForm, FilterForm, ImportForm, ReviewRequestForm
from webportal.portal.models import Component, Label, Prediction
from webportal.portal.reviews import review_state


def home(request):
    """Where each role lands after signing in (LOGIN_REDIRECT_URL): technicians classify, operators see Operations,
    reviewers their queue; a user holding several roles lands on the first of those."""
    user = request.user
    if user.has_perm("portal.add_component"):
        return redirect("portal:classify")
    if user.has_perm("portal.view_operations"):
        return redirect("portal:operations")
    if user.has_perm("portal.add_feedback"):
        return redirect("portal:reviews")
    if user.has_perm("portal.view_component"):
        return redirect("portal:components")
    return render(request, "portal/no_role.html", status=403)


@permission_required("portal.add_component", raise_exception=True)
@require_http_methods(["GET", "POST"])
def classify(request):
    form = DescriptionForm(request.POST or None)
    component, not_stored = None, False
    if request.method == "POST" and form.is_valid():
        try:
            component = services.component_create(text=form.cleaned_data["text"], user=request.user, source=Prediction.Source.FORM)
        except DatabaseError as exc:
            if not outage.is_outage(exc):
                raise
            outage.log.error("classify form: the entry was not stored: %s: %s", type(exc).__name__, exc)
            not_stored = True  # component_create is one transaction: nothing of the entry was kept
        else:
            form = DescriptionForm()
    try:
        recent = list(Component.objects.filter(created_by=request.user).order_by("-created_at", "-id")[:8])
    except DatabaseError:
        if not not_stored:
            raise
        recent = []
    context = {"form": form, "component": component, "recent": recent, "not_stored": not_stored}
    return render(request, "portal/classify.html", context, status=503 if not_stored else 200)


def _filtered_components(request):
    """The filter form from the query string and the components it selects (all when it is invalid)."""
    filters = FilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    return filters, selectors.component_list(**{k: v for k, v in data.items() if v}, user=request.user)


@permission_required("portal.view_component", raise_exception=True)
@require_GET
def components(request):
    filters, qs = _filtered_components(request)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/components.html",
        {"filters": filters, "page": page, "query": query.urlencode(), "users": selectors.user_choices()},
    )


@permission_required("portal.view_component", raise_exception=True)
@require_GET
def component_detail(request, pk: int):
    try:
        component = selectors.component_get(pk=pk, user=request.user)
    except Component.DoesNotExist as exc:
        raise Http404("no such component") from exc
    services.component_evidence_fill(component)
    return render(
        request,
        "portal/component_detail.html",
        {
            "component": component,
            "review_state": review_state(component),
            "needs_review": component.probability is not None and services.needs_review(component.probability),
            "history": selectors.component_history(component=component),
            "edit_form": DescriptionForm(initial={"text": component.text}),
            "feedback_form": FeedbackForm(),
            "request_form": ReviewRequestForm(),
        },
    )


@permission_required("portal.change_component", raise_exception=True)
@require_POST
def component_edit(request, pk: int):
    component = get_object_or_404(selectors.visible_to(Component.objects.all(), request.user), pk=pk)
    form = DescriptionForm(request.POST)
    if form.is_valid():
        services.component_update_text(component=component, text=form.cleaned_data["text"], user=request.user)
        messages.success(
            request,
            "Description updated and re-classified."
            if component.status == "classified"
            else "Description updated; pending classification.",
        )
    else:
        messages.error(request, " ".join(form.errors.get("text", ["Invalid description."])))
    return redirect("portal:component", pk=pk)


@permission_required("portal.add_feedback", raise_exception=True)
@require_POST
def component_feedback(request, pk: int):
    component = get_object_or_404(Component, pk=pk)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        services.feedback_create(
            component=component,
            correct_label=form.cleaned_data["correct_label"],
            comment=form.cleaned_data["comment"],
            reviewer=request.user,
        )
        messages.success(request, "Thank you: the label review is recorded.")
    else:
        messages.error(request, "Choose the correct label.")
    return redirect("portal:component", pk=pk)


@permission_required("portal.import_component", raise_exception=True)
@require_http_methods(["GET", "POST"])
def component_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    batch = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            form.add_error("file", f"The file is larger than {settings.IMPORT_MAX_BYTES // 1_048_576} MB.")
        else:
            try:
                batch = csv_import.components_import_csv(
                    data=upload.read(), user=request.user, filename=upload.name, key=form.cleaned_data["key"]
                )
            except csv_import.ImportKeyConflict as exc:
                form.add_error(None, f"Not imported: {exc}. Reload the page and upload the file again.")
                return render(request, "portal/import.html", {"form": form, "batch": None}, status=409)
    return render(request, "portal/import.html", {"form": form, "batch": batch})


@permission_required("portal.import_component", raise_exception=True)
@require_GET
def component_import_progress(request):
    batch = selectors.import_batch_get(key=request.GET.get("key", ""))
    if batch is None or batch.created_by_id != request.user.pk:
        return JsonResponse({"status": "unknown"})
    return JsonResponse(
        {
            "status": batch.status,
            "total": batch.total_rows,
            "processed": batch.processed_rows,
            "imported": batch.imported_rows,
            "errors": batch.error_rows,
        }
    )


class _Echo:
    def write(self, value):
        return value


@permission_required("portal.export_component", raise_exception=True)
@require_GET
def component_export(request):
    _, qs = _filtered_components(request)
    writer = csv.writer(_Echo())
    header = ["id", "text", "label", "label_name", "probability", "model_version", "status", "created_by", "created_at"]
    header += ["review_state", "reviewed_label", "reviewed_label_name", "reviewed_by", "reviewed_at"]

    def rows():
        yield writer.writerow(header)
        for c in qs.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    c.pk,
                    csv_import.csv_safe(c.text),
                    "" if c.label is None else c.label,
                    c.label_name,
                    "" if c.probability is None else f"{c.probability:.6f}",
                    c.model_version,
                    c.status,
                    c.created_by.username if c.created_by else "",
                    c.created_at.isoformat(),
                    review_state(c),
                    "" if c.reviewed_label is None else c.reviewed_label,
                    "" if c.reviewed_label is None else Label(c.reviewed_label).label,
                    c.reviewed_by or "",
                    c.reviewed_at.isoformat() if c.reviewed_at else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="components.csv"'
    return response


@permission_required("portal.view_operations", raise_exception=True)
@require_GET
def operations(request):
    reports = selectors.monitoring_reports()
    trends = selectors.monitoring_trends(reports=reports)
    mix = selectors.label_mix_by_day()
    return render(
        request,
        "portal/operations.html",
        {
            "status": serving.get_holder().status(),
            "counts": selectors.prediction_counts(),
            "latency": selectors.prediction_latency(),
            "mix": mix,
            "mix_chart": charts.bar_chart([(r["day"].isoformat(), r["share"]) for r in mix], title="non-compliant share per day"),
            "accuracy": selectors.feedback_accuracy_by_version(),
            "reports": reports,
            "trend_charts": [charts.line_chart(points, title=name) for name, points in trends.items()],
        },
    )


@permission_required("portal.reload_model", raise_exception=True)
@require_POST
def model_reload(request):
    if services.model_reload():
        status = serving.get_holder().status()
        messages.success(request, f"Model reloaded: now serving {status.name} version {status.version}.")
    else:
        status = serving.get_holder().status()
        if status.loaded:
            messages.error(request, f"Reload failed: still serving version {status.version}. {status.last_error}")
        else:
            messages.error(request, f"Reload failed: no model is served. {status.last_error}")
    return redirect("portal:operations")
