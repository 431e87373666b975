"""Reads: inventory search, history, operations figures, monitoring trends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from webportal.portal.documents_selectors import sees_all
from webportal.portal.models import Component, Document, Feedback, ImportBatch, MonitoringReport, Prediction
from webportal.portal.reviews import REVIEW_STATES, filter_review, with_review


def component_list(
    *,
    q: str = "",
    label: str = "",
    status: str = "",
    created_by: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    review: str = "",
    user=None,
) -> QuerySet[Component]:
    """The inventory, each component with its latest review beside the model's label (webportal.portal.reviews); with
    a user, only what they may see (visible_to)."""
    qs = visible_to(with_review(Component.objects.select_related("created_by")), user)
    if review in REVIEW_STATES:
        qs = filter_review(qs, review)
    if q:
        qs = qs.filter(text__icontains=q) if not q.isdigit() else qs.filter(Q(text__icontains=q) | Q(pk=int(q)))
    if label in ("0", "1"):
        qs = qs.filter(label=int(label))
    if status in Component.Status.values:
        qs = qs.filter(status=status)
    if created_by:
        qs = qs.filter(created_by__username=created_by)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs.order_by("-created_at", "-id")


def component_get(*, pk: int, user=None) -> Component:
    return visible_to(with_review(Component.objects.select_related("created_by")), user).get(pk=pk)


def visible_to(qs: QuerySet[Component], user) -> QuerySet[Component]:
    """The inventory is shared, but a component found in a document is its uploader's like the document itself
    (webportal.portal.documents_selectors): hidden from other technicians; reviewers and operators see all."""
    if user is None or sees_all(user):
        return qs
    return qs.exclude(document_segments__document__in=Document.objects.exclude(created_by=user))


def component_history(*, component: Component) -> dict:
    return {
        "predictions": list(component.predictions.select_related("user").order_by("-created_at", "-id")[:50]),
        "revisions": list(component.revisions.select_related("edited_by").all()[:50]),
        "feedback": list(component.feedback.select_related("reviewer").all()[:50]),
    }


def user_choices() -> list[str]:
    return list(get_user_model().objects.order_by("username").values_list("username", flat=True)[:200])


def import_batch_get(*, key: str) -> ImportBatch | None:
    return ImportBatch.objects.filter(key=key).first()


# ---------------------------------------------------------------- operations


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


def prediction_latency(*, last: int = 10_000) -> LatencySummary:
    values = np.array(list(Prediction.objects.order_by("-id").values_list("latency_ms", flat=True)[:last]), dtype=float)
    if not len(values):
        return LatencySummary(0, None, None, None)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return LatencySummary(len(values), float(p50), float(p95), float(p99))


def prediction_counts() -> dict:
    since = timezone.now() - dt.timedelta(hours=24)
    by_source = dict(Prediction.objects.values_list("source").annotate(n=Count("id")).values_list("source", "n"))
    return {
        "total": sum(by_source.values()),
        "last_24h": Prediction.objects.filter(created_at__gte=since).count(),
        "by_source": by_source,
        "pending_components": Component.objects.filter(status=Component.Status.PENDING).count(),
        "components": Component.objects.count(),
    }


def label_mix_by_day(*, days: int = 14) -> list[dict]:
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        Prediction.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Count("id"), non_compliant=Count("id", filter=Q(label=1)))
        .order_by("day")
    )
    return [
        {"day": r["day"], "total": r["total"], "non_compliant": r["non_compliant"], "share": r["non_compliant"] / r["total"]} for r in rows
    ]


def feedback_accuracy_by_version() -> list[dict]:
    """Share of reviewed predictions whose label the reviewer confirmed, per model version."""
    rows = (
        Feedback.objects.filter(prediction__isnull=False)
        .values(version=F("prediction__model_version"))
        .annotate(reviewed=Count("id"), correct=Count("id", filter=Q(correct_label=F("prediction__label"))))
        .order_by("version")
    )
    return [{**r, "accuracy": r["correct"] / r["reviewed"] if r["reviewed"] else None} for r in rows]


def monitoring_reports(*, limit: int = 50) -> list[MonitoringReport]:
    return list(MonitoringReport.objects.order_by("-created_at", "-id")[:limit])


def _numeric_leaves(data: object, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_numeric_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, bool) or (isinstance(data, int | float) and np.isfinite(data)):
        out[prefix] = float(data)
    return out


def monitoring_trends(*, reports: list[MonitoringReport], limit: int = 12) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Each numeric signal in the reports' JSON summaries (nested keys dotted) -> its values over time.

    A summary's `metrics` block (what the monitoring jobs also log to MLflow) is charted when present;
    the rest of a summary holds counts and timings that are not signals.
    """
    series: dict[str, list[tuple[dt.datetime, float]]] = {}
    for report in sorted(reports, key=lambda r: (r.created_at, r.pk)):
        summary = report.summary_data()
        signals = summary["metrics"] if isinstance(summary.get("metrics"), dict) else summary
        for key, value in _numeric_leaves(signals).items():
            series.setdefault(f"{report.kind}: {key}", []).append((report.created_at, value))
    ranked = sorted(series.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return dict(ranked[:limit])


def _inside_reports(value: str) -> Path | None:
    """A file a report names, only when it resolves inside REPORTS_DIR (no path traversal)."""
    if not value:
        return None
    root = Path(settings.REPORTS_DIR).resolve()
    candidate = Path(value)
    tries = [candidate] if candidate.is_absolute() else [root / candidate, Path.cwd() / candidate, settings.REPO_ROOT / candidate]
    for path in (p.resolve() for p in tries):
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def report_file(*, report: MonitoringReport) -> Path | None:
    """The report's HTML file, only when it resolves inside REPORTS_DIR (no path traversal)."""
    return _inside_reports(report.html_report)


def report_files(*, report: MonitoringReport) -> dict[str, Path]:
    """Every file the monitoring job wrote for this report (html, charts, json) that the portal may serve."""
    named = report.summary_data().get("files")
    named = dict(named) if isinstance(named, dict) else {}
    if report.html_report:
        named.setdefault("html", report.html_report)
    found = {name: _inside_reports(str(value)) for name, value in named.items() if isinstance(value, str)}
    return {name: path for name, path in found.items() if path is not None}


def report_title(*, report: MonitoringReport) -> str:
    kind = "Drift report" if report.kind == MonitoringReport.Kind.DRIFT else "Performance report"
    when = timezone.localtime(report.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M") if report.created_at else ""
    return f"{kind} #{report.pk}" + (f", {when} UTC" if when else "")
