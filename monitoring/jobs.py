"""The two jobs as plain functions: read the window, analyse, publish (files, portal row, MLflow, alert).

    outcome = run_drift(JobConfig.from_env(since=timedelta(days=7)))
    outcome.exit_code  # 0 no drift (or not enough data), 1 drift flagged, 2 could not run

Publishing order makes every output independent: HTML, charts and JSON are written first, then
MLflow (optional; a failure is a warning), then the portal row, then the alert.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.names import MONITORING_EXPERIMENT, server_uri
from common.paths import portal_database_url, reports_dir
from monitoring.alerts import send_alert

log = logging.getLogger("monitoring")

EXIT_CODES = {"ok": 0, "insufficient_data": 0, "drift": 1, "error": 2}


@dataclass(frozen=True)
class JobConfig:
    database_url: str | None
    bundle_dir: Path | None
    out_dir: Path = field(default_factory=reports_dir)
    tracking_uri: str | None = None
    webhook_url: str | None = None
    since: timedelta | None = timedelta(days=7)
    last: int | None = None
    min_rows: int = 200
    experiment: str = MONITORING_EXPERIMENT
    # performance
    performance_since: timedelta | None = timedelta(days=30)
    min_reviewed: int = 30
    min_accuracy: float = 0.95

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> JobConfig:
        """Defaults from DATABASE_URL, MODEL_DIR, REPORTS_DIR, MLFLOW_TRACKING_URI, ALERT_WEBHOOK_URL.

        Without DATABASE_URL / REPORTS_DIR, the portal's own defaults apply (common.paths):
        sqlite:///<PORTAL_VAR_DIR or repo/var>/portal.sqlite3 and <repo>/reports. Metrics go to MLflow when
        there is a server to take them (common.names.server_uri: MLFLOW_TRACKING_URI, else the local server
        `make run` started); otherwise the job skips MLflow and keeps its files and portal row.
        """
        env = os.environ if env is None else env
        base = cls(
            database_url=portal_database_url(env),
            bundle_dir=Path(env["MODEL_DIR"].strip()) if env.get("MODEL_DIR", "").strip() else None,
            out_dir=reports_dir(env),
            tracking_uri=server_uri(environ=env),
            webhook_url=env.get("ALERT_WEBHOOK_URL") or None,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class JobOutcome:
    kind: str
    status: str
    headline: str
    summary: dict
    report_id: int | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def _numeric_metrics(kind: str, summary: dict) -> dict[str, float]:
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


def _publish(
    outcome: JobOutcome,
    *,
    config: JobConfig,
    engine,
    now: datetime,
    model_name: str,
    model_version: str,
    window: tuple[datetime | None, datetime | None],
) -> JobOutcome:
    """Write JSON, log to MLflow, insert the portal row, alert. Each step survives the others failing."""
    import json

    from monitoring.db import insert_report

    summary = outcome.summary
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
                "since": str(config.since if outcome.kind == "drift" else config.performance_since) if not config.last else None,
                "last": config.last if outcome.kind == "drift" else None,
            },
            "created_at": now.isoformat(),
        }
    )
    # Flat numeric metrics: what MLflow gets, and what the portal's operations page should chart.
    summary["metrics"] = _numeric_metrics(outcome.kind, summary)
    json_path = config.out_dir / f"{outcome.kind}-{_stamp(now)}.json"
    outcome.paths["json"] = json_path
    summary["files"] = {k: str(v) for k, v in outcome.paths.items()}

    if config.tracking_uri:
        from monitoring.mlflow_log import TrackingError, log_run

        try:
            json_path.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
            logged = log_run(
                tracking_uri=config.tracking_uri,
                experiment=config.experiment,
                run_name=f"{outcome.kind}-{_stamp(now)}",
                tags={"kind": outcome.kind, "status": outcome.status, "model_name": model_name, "model_version": model_version},
                metrics=summary["metrics"],
                artifacts=[p for p in outcome.paths.values()],
            )
            summary["mlflow"] = {"logged": True, "experiment": config.experiment, **logged}
        except TrackingError as exc:
            log.warning("%s; the report is kept in files and the portal database", exc)
            summary["mlflow"] = {"logged": False, "error": str(exc)}
            outcome.notes.append(f"MLflow: not logged ({exc})")
    else:
        no_server = "no tracking server (set MLFLOW_TRACKING_URI or --tracking-uri, or start the local one)"
        summary["mlflow"] = {"logged": False, "error": no_server}

    if engine is not None:
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
                html_report=str(outcome.paths["html"].resolve()) if "html" in outcome.paths else "",
                created_at=now,
            )
            summary["report_id"] = outcome.report_id
        except Exception as exc:  # the files must survive a database that refuses the row
            log.error("could not record the report in portal_monitoring_report: %s", exc)
            outcome.notes.append(f"portal database: report row not written ({exc})")
    json_path.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")

    if outcome.status in ("drift", "error"):
        summary["alert"] = send_alert(
            payload={
                "kind": outcome.kind,
                "status": outcome.status,
                "headline": outcome.headline,
                "model_version": model_version,
                "report_id": outcome.report_id,
                "json_report": str(json_path.resolve()),
                "html_report": str(outcome.paths["html"].resolve()) if "html" in outcome.paths else "",
            },
            webhook_url=config.webhook_url,
        )
        json_path.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    if engine is not None:
        engine.dispose()
    return outcome


def _error(kind: str, reason: str) -> JobOutcome:
    return JobOutcome(kind=kind, status="error", headline=f"could not run: {reason}", summary={"rows": 0, "error": reason})


def _prepare(config: JobConfig, kind: str, *, need_bundle: bool):
    """Connect to the database and load the bundle; returns (engine, reference, error outcome or None)."""
    from ml.bundle import BundleError
    from monitoring.db import DatabaseError, connect
    from monitoring.reference import load_reference

    config.out_dir.mkdir(parents=True, exist_ok=True)
    engine = reference = None
    try:
        engine = connect(config.database_url or "")
    except DatabaseError as exc:
        return None, None, _error(kind, str(exc))
    try:
        reference = load_reference(config.bundle_dir)
    except BundleError as exc:
        if need_bundle:
            return engine, None, _error(kind, str(exc))
    return engine, reference, None


def run_drift(config: JobConfig, *, now: datetime | None = None) -> JobOutcome:
    """The drift job: prediction-log window vs the bundle's reference sample."""
    from monitoring.db import read_predictions
    from monitoring.drift import DriftOptions, analyse, insufficient

    now = now or datetime.now(UTC)
    engine, reference, failed = _prepare(config, "drift", need_bundle=True)
    model_name = reference.model_name if reference else ""
    model_version = reference.model_version if reference else ""
    window: tuple[datetime | None, datetime | None] = (None, now)
    try:
        if failed:
            outcome = failed
        else:
            since = None if config.last else (now - config.since if config.since else None)
            clock = time.perf_counter()
            current = read_predictions(
                engine, since=since, last=config.last, columns=("id", "text", "probability", "model_version", "created_at")
            )
            timings = {"read": time.perf_counter() - clock}
            window = (since, now) if not config.last else (_first(current), _latest(current))
            if len(current) < config.min_rows:
                s = insufficient(len(current), config.min_rows)
                outcome = JobOutcome(kind="drift", status=s["status"], headline=s["headline"], summary=s)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    analysis = analyse(
                        reference.frame,
                        current,
                        spec=reference.spec,
                        threshold=reference.threshold,
                        served_version=reference.model_version,
                        options=DriftOptions(min_rows=config.min_rows),
                    )
                timings["analyse"] = time.perf_counter() - clock - timings["read"]
                s = analysis.summary
                outcome = JobOutcome(kind="drift", status=s["status"], headline=s["headline"], summary=s)
                stem = config.out_dir / f"drift-{_stamp(now)}"
                html = stem.with_suffix(".html")
                analysis.snapshot.save_html(str(html))
                outcome.paths["html"] = html
                from monitoring.charts import drift_charts

                try:
                    outcome.paths["charts"] = drift_charts(s, analysis.reference, analysis.current, stem.with_suffix(".png"))
                except Exception as exc:  # a chart must never sink the report
                    log.warning("drift charts failed: %s", exc)
                timings["html_and_charts"] = time.perf_counter() - clock - timings["read"] - timings["analyse"]
                s["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    except Exception as exc:
        log.error("drift job failed:\n%s", traceback.format_exc())
        outcome = _error("drift", f"{type(exc).__name__}: {exc}")
    return _publish(outcome, config=config, engine=engine, now=now, model_name=model_name, model_version=model_version, window=window)


def run_performance(config: JobConfig, *, now: datetime | None = None) -> JobOutcome:
    """The performance job: measured vs estimated accuracy per model version, latency, volume."""
    from monitoring.db import read_feedback, read_predictions
    from monitoring.performance import analyse_performance

    now = now or datetime.now(UTC)
    engine, reference, failed = _prepare(config, "performance", need_bundle=False)
    model_name = reference.model_name if reference else ""
    since = now - config.performance_since if config.performance_since else None
    window = (since, now)
    model_version = reference.model_version if reference else ""
    try:
        if failed:
            outcome = failed
        else:
            predictions = read_predictions(
                engine,
                since=since,
                columns=("id", "component_id", "probability", "label", "model_name", "model_version", "latency_ms", "source", "created_at"),
            )
            feedback = read_feedback(engine, since=since)
            s = analyse_performance(
                predictions,
                feedback,
                served_version=model_version or None,
                min_reviewed=config.min_reviewed,
                min_accuracy=config.min_accuracy,
                window_hours=config.performance_since.total_seconds() / 3600 if config.performance_since else None,
            )
            model_version = model_version or s.get("served_version", "")
            model_name = model_name or (str(predictions["model_name"].iloc[-1]) if len(predictions) else "")
            outcome = JobOutcome(kind="performance", status=s["status"], headline=s["headline"], summary=s)
            if len(predictions):
                from monitoring.charts import performance_charts

                try:
                    path = config.out_dir / f"performance-{_stamp(now)}.png"
                    outcome.paths["charts"] = performance_charts(s, predictions, path)
                except Exception as exc:
                    log.warning("performance charts failed: %s", exc)
    except Exception as exc:
        log.error("performance job failed:\n%s", traceback.format_exc())
        outcome = _error("performance", f"{type(exc).__name__}: {exc}")
    return _publish(outcome, config=config, engine=engine, now=now, model_name=model_name, model_version=model_version, window=window)


def _first(frame) -> datetime | None:
    return frame["created_at"].min().to_pydatetime() if len(frame) else None


def _latest(frame) -> datetime | None:
    return frame["created_at"].max().to_pydatetime() if len(frame) else None
