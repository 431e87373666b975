"""The two jobs as plain functions: read the window, analyse, publish (files, portal row, MLflow, alert).

    outcome = run_drift(JobConfig.from_env(since=timedelta(days=7)))
    outcome.exit_code  # 0 no drift (or not enough data), 1 drift flagged, 2 could not run

HTML and charts are written by the job; monitoring.publish then writes the JSON, logs to MLflow (optional;
a failure is a warning), inserts the portal row and alerts, each output independent of the others.
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
from monitoring.publish import publish, stamp

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
    sample_size: int = 100_000  # rows of the window Evidently's text checks see (stratified); every row counts in the rest
    chunk_rows: int = 100_000  # rows read from the log at a time
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
    now = now or datetime.now(UTC)
    engine, reference, failed = _prepare(config, "drift", need_bundle=True)
    model_name = reference.model_name if reference else ""
    model_version = reference.model_version if reference else ""
    window: tuple[datetime | None, datetime | None] = (None, now)
    try:
        if failed:
            outcome = failed
        else:
            started = time.perf_counter()
            stats, window = _scan_drift_window(config, engine, now, threshold=reference.threshold)
            outcome = _analyse_drift(config, engine, reference, stats, started=started, now=now)
    except Exception as exc:
        log.error("drift job failed:\n%s", traceback.format_exc())
        outcome = _error("drift", f"{type(exc).__name__}: {exc}")
    return publish(outcome, config=config, engine=engine, now=now, model_name=model_name, model_version=model_version, window=window)


def _scan_drift_window(config: JobConfig, engine, now: datetime, *, threshold: float):
    """One pass over the window (the last N, or the rows since a moment) in chunks: its statistics and sample."""
    from monitoring.db import iter_prediction_stats, window_bounds
    from monitoring.window import WindowStats

    since = None if config.last else (now - config.since if config.since else None)
    stats = WindowStats(threshold=threshold, sample_size=max(config.sample_size, config.min_rows))
    for chunk in iter_prediction_stats(engine, since=since, last=config.last, chunk_rows=config.chunk_rows):
        stats.add(chunk)
    window = (since, now) if not config.last else window_bounds(engine, last=config.last)
    return stats, window


def _analyse_drift(config: JobConfig, engine, reference, stats, *, started: float, now: datetime) -> JobOutcome:
    """Not enough rows, or Evidently on the sample with the whole window's numbers, HTML report and charts."""
    from monitoring.db import read_predictions_by_id
    from monitoring.drift import DriftOptions, analyse, insufficient, with_window

    clock = started
    timings = {"read": time.perf_counter() - clock}
    if stats.rows < config.min_rows:
        s = insufficient(stats.rows, config.min_rows)
        return JobOutcome(kind="drift", status=s["status"], headline=s["headline"], summary=s)
    columns = ("id", "text", "probability", "model_version", "created_at")
    current = read_predictions_by_id(engine, stats.sample.chosen_ids(), columns=columns)
    timings["read_sample"] = time.perf_counter() - clock - timings["read"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = analyse(
            reference.frame,
            current,
            spec=reference.spec,
            threshold=reference.threshold,
            served_version=reference.model_version,
            options=DriftOptions(min_rows=config.min_rows),
            max_rows=max(len(current), 100_000),
        )
    timings["analyse"] = time.perf_counter() - clock - sum(timings.values())
    s = with_window(analysis.summary, stats, sampled=len(current), served_version=reference.model_version)
    outcome = JobOutcome(kind="drift", status=s["status"], headline=s["headline"], summary=s)
    stem = config.out_dir / f"drift-{stamp(now)}"
    html = stem.with_suffix(".html")
    analysis.snapshot.save_html(str(html))
    outcome.paths["html"] = html
    from monitoring.charts import drift_charts

    try:
        outcome.paths["charts"] = drift_charts(s, analysis.reference, analysis.current, stem.with_suffix(".png"))
    except Exception as exc:  # a chart must never sink the report
        log.warning("drift charts failed: %s", exc)
    timings["html_and_charts"] = time.perf_counter() - clock - sum(timings.values())
    s["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return outcome


def run_performance(config: JobConfig, *, now: datetime | None = None) -> JobOutcome:
    """The performance job: measured vs estimated accuracy per model version, latency, volume."""
    from monitoring.performance import summarise_performance

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
            scanned = _scan_performance_window(config, engine, since)
            s = summarise_performance(
                scanned,
                served_version=model_version or None,
                min_reviewed=config.min_reviewed,
                min_accuracy=config.min_accuracy,
                window_hours=config.performance_since.total_seconds() / 3600 if config.performance_since else None,
            )
            model_version = model_version or s.get("served_version", "")
            model_name = model_name or scanned.latest_model_name
            outcome = JobOutcome(kind="performance", status=s["status"], headline=s["headline"], summary=s)
            if scanned.rows:
                from monitoring.charts import performance_charts

                try:
                    path = config.out_dir / f"performance-{stamp(now)}.png"
                    outcome.paths["charts"] = performance_charts(s, scanned, path)
                except Exception as exc:
                    log.warning("performance charts failed: %s", exc)
    except Exception as exc:
        log.error("performance job failed:\n%s", traceback.format_exc())
        outcome = _error("performance", f"{type(exc).__name__}: {exc}")
    return publish(outcome, config=config, engine=engine, now=now, model_name=model_name, model_version=model_version, window=window)


def _scan_performance_window(config: JobConfig, engine, since: datetime | None):
    """One pass over the rows since `since` in chunks, after the (small) feedback table: a PerformanceWindow."""
    from monitoring.db import iter_predictions, read_feedback
    from monitoring.performance_window import COLUMNS, PerformanceWindow

    scanned = PerformanceWindow(read_feedback(engine, since=since))
    for chunk in iter_predictions(engine, columns=COLUMNS, since=since, chunk_rows=config.chunk_rows):
        scanned.add(chunk)
    return scanned
