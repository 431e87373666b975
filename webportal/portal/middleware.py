from __future__ import annotations

import ipaddress
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


INTERNAL_PATHS = ("/healthz", "/metrics")


class InternalHostMiddleware:
    """Kubelet probes and Prometheus address a pod by its IP (Host: 10.1.2.3:8000), which ALLOWED_HOSTS cannot
    list. On the probe and metrics paths only, an IP-literal Host is answered as the first plainly named allowed
    host; every other path keeps Django's Host check."""

    def __init__(self, get_response):
        self.get_response = get_response
        from django.conf import settings

        named = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and "*" not in h]
        self.stand_in = named[0] if named else None

    def __call__(self, request):
        if self.stand_in and request.path in INTERNAL_PATHS and _is_ip_host(request.META.get("HTTP_HOST", "")):
            request.META["HTTP_HOST"] = self.stand_in
        return self.get_response(request)


def _is_ip_host(host: str) -> bool:
    if host.startswith("["):
        name = host[1 : host.find("]")]  # [::1]:8000
    else:
        name = host.split(":")[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
