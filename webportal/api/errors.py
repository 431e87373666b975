"""One error shape for the API: 400s name the field ({"error": "invalid input", "errors": {"text": [...]}}),
other errors carry a message ({"error": "..."}); a database that cannot answer is a 503 with Retry-After."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from webportal.portal import outage


def exception_handler(exc, context):
    if outage.is_outage(exc):
        outage.log.error("database unavailable in the API: %s: %s", type(exc).__name__, exc)
        return Response(outage.api_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": outage.RETRY_AFTER_S})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST:
        if isinstance(data, list):
            data = {"body": data}
        elif isinstance(data, dict) and set(data) == {"detail"}:
            data = {"body": [data["detail"]]}
        if isinstance(data, dict) and "non_field_errors" in data:
            data = {**{k: v for k, v in data.items() if k != "non_field_errors"}, "body": data["non_field_errors"]}
        response.data = {"error": "invalid input", "errors": data}
    elif isinstance(exc, exceptions.APIException):
        detail = data.get("detail") if isinstance(data, dict) else data
        response.data = {"error": str(detail)}
    return response
