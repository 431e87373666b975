"""Publishing a job's outcome: every output independent of the others.

Order: the summary gets its window and flat metrics; MLflow (optional; a failure is a warning, the JSON is
written first so it can be logged); the portal row; the JSON on disk; the alert when drift or an error
was found. Each step survives the others failing.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitoring.alerts import send_alert

if TYPE_CHECKING:
    from monitoring.jobs import JobConfig, JobOutcome

log = logging.getLogger("monitoring")

Window = tuple[datetime | None, datetime | None]


def stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def numeric_metrics(kind: str, summary: dict) -> dict[str, float]:
    """Flat numbers: what MLflow gets, and what the portal's operations page should chart."""
    out: dict[str, float] = {"rows": summary.get("rows", 0), "drift": float(summary.get("status") == "drift")}
    if kind == "drift" and "signals" in summary:
        s = summary["signals"]
        out["text_roc_auc"] = s["text"]["roc_auc"]
        out["unseen_word_share"] = s["text"]["unseen_word_share"]["current"]
        out["share_non_compliant"] = s["prediction"]["share_non_compliant"]["current"]
        for name, sig in s.items():
            out[f"drift_{name}"] = float(sig["drift"])
            for col, check in sig.get("columns", {}).items():
                out[f"score_{col}"] = check["score"]
    if kind == "performance" and "versions" in summary:
        m = summary["versions"].get(summary["served_version"], {})
        for key in ("accuracy", "precision", "recall"):
            if m.get(key, {}).get("value") is not None:
                out[key] = m[key]["value"]
                out[f"{key}_ci_low"], out[f"{key}_ci_high"] = m[key]["ci"]
        out["reviewed"] = m.get("reviewed", 0)
        out["estimated_accuracy_unreviewed"] = m.get("estimated_accuracy_unreviewed")
        for q, v in summary.get("latency_ms", {}).items():
            out[f"latency_{q}_ms"] = v
        out["requests"] = summary.get("volume", {}).get("requests", 0)
    return {k: float(v) for k, v in out.items() if v is not None}


def publish(
    outcome: JobOutcome, *, config: JobConfig, engine, now: datetime, model_name: str, model_version: str, window: Window
) -> JobOutcome:
    """Write JSON, log to MLflow, insert the portal row, alert."""
    summary = _complete_summary(outcome, config=config, now=now, model_name=model_name, model_version=model_version, window=window)
    json_path = config.out_dir / f"{outcome.kind}-{stamp(now)}.json"
    outcome.paths["json"] = json_path
    summary["files"] = {k: str(v) for k, v in outcome.paths.items()}
    _log_to_mlflow(outcome, config=config, json_path=json_path, now=now, model_name=model_name, model_version=model_version)
    if engine is not None:
        _record_row(outcome, engine=engine, now=now, model_version=model_version, window=window)
    _write(json_path, summary)
    if outcome.status in ("drift", "error"):
        _alert(outcome, config=config, json_path=json_path, model_version=model_version)
        _write(json_path, summary)
    if engine is not None:
        engine.dispose()
    return outcome


def _write(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")


def _complete_summary(
    outcome: JobOutcome, *, config: JobConfig, now: datetime, model_name: str, model_version: str, window: Window
) -> dict:
    summary = outcome.summary
    since = config.since if outcome.kind == "drift" else config.performance_since
    summary.update(
        {
            "kind": outcome.kind,
            "status": outcome.status,
            "headline": outcome.headline,
            "model_name": model_name,
            "model_version": model_version,
            "window": {
                "start": window[0].isoformat() if window[0] else None,
                "end": window[1].isoformat() if window[1] else None,
                "since": str(since) if not config.last else None,
                "last": config.last if outcome.kind == "drift" else None,
            },
            "created_at": now.isoformat(),
        }
    )
    summary["metrics"] = numeric_metrics(outcome.kind, summary)
    return summary


def _log_to_mlflow(outcome: JobOutcome, *, config: JobConfig, json_path: Path, now: datetime, model_name: str, model_version: str) -> None:
    summary = outcome.summary
    if not config.tracking_uri:
        no_server = "no tracking server (set MLFLOW_TRACKING_URI or --tracking-uri, or start the local one)"
        summary["mlflow"] = {"logged": False, "error": no_server}
        return
    from monitoring.mlflow_log import TrackingError, log_run

    try:
        _write(json_path, summary)
        logged = log_run(
            tracking_uri=config.tracking_uri,
            experiment=config.experiment,
            run_name=f"{outcome.kind}-{stamp(now)}",
            tags={"kind": outcome.kind, "status": outcome.status, "model_name": model_name, "model_version": model_version},
            metrics=summary["metrics"],
            artifacts=[p for p in outcome.paths.values()],
        )
        summary["mlflow"] = {"logged": True, "experiment": config.experiment, **logged}
    except TrackingError as exc:
        log.warning("%s; the report is kept in files and the portal database", exc)
        summary["mlflow"] = {"logged": False, "error": str(exc)}
        outcome.notes.append(f"MLflow: not logged ({exc})")


def _record_row(outcome: JobOutcome, *, engine, now: datetime, model_version: str, window: Window) -> None:
    from monitoring.db import insert_report

    summary = outcome.summary
    try:
        outcome.report_id = insert_report(
            engine,
            kind=outcome.kind,
            status=outcome.status,
            headline=outcome.headline,
            model_version=model_version,
            window_start=window[0],
            window_end=window[1],
            rows=int(summary.get("rows", 0) or 0),
            summary=summary,
            html_report=_html(outcome),
            created_at=now,
        )
        summary["report_id"] = outcome.report_id
    except Exception as exc:  # the files must survive a database that refuses the row
        log.error("could not record the report in portal_monitoring_report: %s", exc)
        outcome.notes.append(f"portal database: report row not written ({exc})")


def _alert(outcome: JobOutcome, *, config: JobConfig, json_path: Path, model_version: str) -> None:
    outcome.summary["alert"] = send_alert(
        payload={
            "kind": outcome.kind,
            "status": outcome.status,
            "headline": outcome.headline,
            "model_version": model_version,
            "report_id": outcome.report_id,
            "json_report": str(json_path.resolve()),
            "html_report": _html(outcome),
        },
        webhook_url=config.webhook_url,
    )


def _html(outcome: JobOutcome) -> str:
    return str(outcome.paths["html"].resolve()) if "html" in outcome.paths else ""
