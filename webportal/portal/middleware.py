from __future__ import annotations

import time

from webportal.portal.metrics import REQUESTS


class RequestMetricsMiddleware:
    """Counts every request and its latency by route (the URL pattern, never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "unmatched"
        REQUESTS.observe(route=route, method=request.method, status=response.status_code, seconds=time.perf_counter() - started)
        return response
