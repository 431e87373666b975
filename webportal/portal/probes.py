"""Probes outside the pages: /healthz (deploys and load balancers), /metrics (Prometheus), the bench baseline."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from webportal.portal import metrics, prediction_log, serving
from webportal.portal.models import Prediction
from webportal.version import APP_VERSION

# `?probe=live`: the process answers, nothing else is checked (a database blip must not restart pods); `?probe=ready`: serve traffic
# only with a model loaded and the database reachable; no probe: the full report, 503 only when the database is down.
PROBES = ("live", "ready")


@login_not_required
@require_GET
def healthz(request):
    probe = request.GET.get("probe", "")
    if probe and probe not in PROBES:
        return JsonResponse({"error": f"probe must be one of {', '.join(PROBES)}, not {probe!r}"}, status=400)
    if probe == "live":
        return JsonResponse({"status": "alive", "app_version": APP_VERSION})
    holder = serving.get_holder()
    holder.poll()  # picks up a new bundle (rate-limited), so probes and deploys see what is served next
    status = holder.status()
    db_ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        db_ok = False
    body = {
        "status": "ok" if (status.loaded and db_ok) else "degraded",
        "model_loaded": status.loaded,
        "model_name": status.name,
        "model_version": status.version,
        "model_loaded_at": status.loaded_at.isoformat() if status.loaded_at else None,
        "model_stale": status.stale,
        "model_error": status.last_error,
        "database": "ok" if db_ok else "unreachable",
        "prediction_log": _log_health(),
        "app_version": APP_VERSION,
        "environment": settings.PORTAL_ENVIRONMENT,
        # Each worker polls MODEL_DIR on its own: while a new version rolls out, answers may mix versions for up to
        # this many seconds (docs/deploy.md, "Version changes").
        "model_poll_seconds": settings.MODEL_POLL_SECONDS,
        "version_switch_window_s": settings.MODEL_POLL_SECONDS,
    }
    healthy = (status.loaded and db_ok) if probe == "ready" else db_ok
    return JsonResponse(body, status=200 if healthy else 503)


def _log_health() -> dict:
    status = prediction_log.get_log().status()
    return {
        "mode": status.mode,
        "pending": status.pending,
        "oldest_pending_s": round(status.oldest_pending_s, 3),
        "written": status.written,
        "write_failures": status.write_failures,
        "last_error": status.last_error,
    }


@login_not_required
@require_GET
def metrics_view(request):
    token = settings.METRICS_TOKEN
    bearer = request.headers.get("Authorization", "")
    is_operator = request.user.is_authenticated and request.user.has_perm("portal.view_operations")
    if not is_operator and not (token and bearer == f"Bearer {token}"):
        if not request.user.is_authenticated:
            # A scraper, not a person: answer 401 with the scheme to use, never a redirect to the login page.
            response = HttpResponse("metrics need an operator session or 'Authorization: Bearer METRICS_TOKEN'\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        raise PermissionDenied
    by_label = {
        ("non-compliant" if row["label"] == 1 else "compliant"): row["n"]
        for row in Prediction.objects.values("label").annotate(n=Count("id"))
    }
    by_source = {row["source"]: row["n"] for row in Prediction.objects.values("source").annotate(n=Count("id"))}
    status = serving.get_holder().status()
    text = metrics.render(
        predictions_by_label=by_label,
        predictions_by_source=by_source,
        model={"name": status.name, "version": status.version, "loaded": status.loaded, "failures": status.failures},
        log=prediction_log.get_log().status(),
    )
    return HttpResponse(text, content_type="text/plain; version=0.0.4; charset=utf-8")


@login_not_required
def noop(request):
    """Benchmark baseline (bench/portal.py): the cheapest Django response, same middleware stack."""
    if not settings.BENCH_NOOP:
        raise Http404()
    return HttpResponse(b"ok", content_type="text/plain")
