"""Probes outside the pages: /healthz (deploys and load balancers), /metrics (Prometheus), the bench baseline."""

from __future__ import annotations

import hmac

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


def _bearer_matches(request, token: str) -> bool:
    """Constant-time comparison; an empty configured token matches nothing."""
    given = request.headers.get("Authorization", "").encode()
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())


def may_see_details(request) -> bool:
    """Health details (versions, errors that may carry file paths) go to signed-in operators or $HEALTH_TOKEN."""
    user = request.user
    is_operator = user.is_authenticated and user.has_perm("portal.view_operations")
    return is_operator or _bearer_matches(request, settings.HEALTH_TOKEN)


def _answer(request, body: dict, status: int = 200) -> JsonResponse:
    """Public callers get the status only; may_see_details callers the whole body."""
    return JsonResponse(body if may_see_details(request) else {"status": body["status"]}, status=status)


@login_not_required
@require_GET
def healthz(request):
    probe = request.GET.get("probe", "")
    if probe and probe not in PROBES:
        return JsonResponse({"error": f"probe must be one of {', '.join(PROBES)}, not {probe!r}"}, status=400)
    if probe == "live":
        return _answer(request, {"status": "alive", "app_version": APP_VERSION})
    holder = serving.get_holder()
    holder.poll()  # picks up a new bundle (rate-limited), so probes and deploys see what is served next
    status = holder.status()
    db_ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        db_ok = False
    reason = _degraded_reason(status, db_ok)
    body = {
        "status": "degraded" if reason else "ok",
        "reason": reason,
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
    return _answer(request, body, status=200 if healthy else 503)


def _degraded_reason(status: serving.HolderStatus, db_ok: bool) -> str:
    """Why the portal is degraded, in words without paths (empty when it is not); model_error has the details."""
    reasons = []
    if not db_ok:
        reasons.append("the database is unreachable")
    if not status.loaded:
        reasons.append("no model is loaded: classification is unavailable")
    elif status.stale:
        reasons.append(f"the model is stale: the newest bundle failed to load, still serving the last good version {status.version}")
    return "; ".join(reasons)


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
    is_operator = request.user.is_authenticated and request.user.has_perm("portal.view_operations")
    if not is_operator and not _bearer_matches(request, settings.METRICS_TOKEN):
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
