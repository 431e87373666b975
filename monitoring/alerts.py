"""Alerts: a log line always, and a JSON POST to ALERT_WEBHOOK_URL when one is set."""

from __future__ import annotations

import logging

log = logging.getLogger("monitoring.alerts")


def send_alert(*, payload: dict, webhook_url: str | None, timeout_s: float = 5.0) -> dict:
    """Log the alert and POST `payload` (plus a Slack-style "text") to the webhook. Never raises."""
    body = {"source": "component-compliance monitoring", "text": payload.get("headline", ""), **payload}
    log.warning("ALERT %s %s: %s", body.get("kind", "?"), body.get("status", "?"), body.get("headline", ""))
    outcome = {"logged": True, "webhook": "not configured"}
    if webhook_url:
        import requests

        try:
            response = requests.post(webhook_url, json=body, timeout=timeout_s)
            response.raise_for_status()
            outcome["webhook"] = f"sent ({response.status_code})"
        except requests.RequestException as exc:
            log.warning("alert webhook %s failed: %s", webhook_url, exc)
            outcome["webhook"] = f"failed: {exc}"
    return outcome
