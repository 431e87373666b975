"""A database that cannot answer: the portal says so with a 503 (JSON on the API, a page elsewhere), never a 500.

An outage is a DatabaseError the client can retry (the server is down or refuses, a table is away or
read-only); IntegrityError and DataError are not: they are bugs or bad data and stay 500s.
"""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger("webportal.outage")
RETRY_AFTER_S = "5"
API_MESSAGE = "the database is unavailable: nothing was done, try again shortly"
PAGE_MESSAGE = "The database is unavailable right now: nothing was saved. Try again in a moment."


def is_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, DatabaseError) and not isinstance(exc, (IntegrityError, DataError))


def api_body() -> dict:
    return {"error": API_MESSAGE}


def response_for(request, exc: BaseException) -> HttpResponse:
    """The 503 for a request that met an outage: JSON under /api/, else the portal's page (plain HTML when the
    page itself cannot be drawn, e.g. the signed-in user cannot be read)."""
    log.error("database unavailable on %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
    if request.path.startswith("/api/"):
        return JsonResponse(api_body(), status=503, headers={"Retry-After": RETRY_AFTER_S})
    try:
        html = render_to_string("503.html", {"message": PAGE_MESSAGE}, request=request)
    except Exception:
        html = f"<!doctype html><title>Unavailable</title><h1>Service unavailable</h1><p>{PAGE_MESSAGE}</p>"
    return HttpResponse(html, status=503, headers={"Retry-After": RETRY_AFTER_S})


class DatabaseOutageMiddleware:
    """A view that meets an outage answers 503 (views that can say more, like the classify form, catch it first)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return response_for(request, exception) if is_outage(exception) else None


def server_error(request, *args, **kwargs):
    """handler500: an outage met outside a view (a middleware reading the session or the user) is a 503 too."""
    exc = sys.exc_info()[1]
    if is_outage(exc):
        return response_for(request, exc)
    from django.views.defaults import server_error as default

    return default(request, *args, **kwargs)
