"""python -m monitoring drift|performance|schedule: thin wrappers over monitoring.jobs.

Which deploy: after `make run`, the production portal's database, model and reports folder (var/deploy/production);
`--env staging` picks staging; DATABASE_URL / MODEL_DIR / REPORTS_DIR (or the flags) pick anything else.

Exit codes: 0 no drift (or not enough data), 1 drift flagged, 2 could not run (the reason is printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from common.names import MONITORING_EXPERIMENT
from common.paths import ENVIRONMENTS, deployed_environment, environment_dir, environment_settings
from monitoring.jobs import JobConfig, JobOutcome

log = logging.getLogger("monitoring")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '1h', '7d', '2w' (or a plain number of seconds) -> timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 7d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m monitoring", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--env",
        choices=ENVIRONMENTS,
        help="the deployed environment whose database, model and reports to use (default: production when `make run` deployed it "
        "and DATABASE_URL is not set)",
    )
    common.add_argument("--database-url", help="portal database (default: $DATABASE_URL)")
    common.add_argument("--bundle", type=Path, help="served model bundle folder (default: $MODEL_DIR)")
    common.add_argument("--out", type=Path, help="reports folder (default: $REPORTS_DIR or reports/)")
    common.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the running local server; metrics are skipped without one)",
    )
    common.add_argument("--webhook-url", help="alert webhook (default: $ALERT_WEBHOOK_URL)")
    common.add_argument("--experiment", default=MONITORING_EXPERIMENT, help=f"MLflow experiment (default: {MONITORING_EXPERIMENT})")
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and the result line")
    drift_opts = argparse.ArgumentParser(add_help=False)
    window = drift_opts.add_mutually_exclusive_group()
    window.add_argument("--since", type=parse_duration, help="window: predictions of the last DURATION (default 7d)")
    window.add_argument("--last", type=_positive_int, help="window: the last N predictions")
    drift_opts.add_argument("--min-rows", type=_positive_int, default=200, help="fewer rows = 'not enough data' (default 200)")
    drift_opts.add_argument(
        "--sample-size",
        type=_positive_int,
        help="rows of the window Evidently's text checks run on, stratified by model version and predicted label (default 100000); "
        "counts, rates, descriptors and the prediction distribution always cover every row",
    )
    perf_opts = argparse.ArgumentParser(add_help=False)
    perf_opts.add_argument("--performance-since", type=parse_duration, help="performance window (default 30d)")
    perf_opts.add_argument("--min-reviewed", type=_positive_int, default=30, help="reviews needed before an accuracy alert (default 30)")
    perf_opts.add_argument("--min-accuracy", type=float, default=0.95, help="alert when the accuracy CI lies below this (default 0.95)")

    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("drift", parents=[common, drift_opts], help="text, descriptor, attribute and prediction drift")
    sub.add_parser("performance", parents=[common, perf_opts], help="live accuracy, latency, volume")
    sched = sub.add_parser("schedule", parents=[common, drift_opts, perf_opts], help="run both jobs every DURATION")
    sched.add_argument("--every", type=parse_duration, default=timedelta(hours=1), help="period (default 1h)")
    sched.add_argument("--max-runs", type=_positive_int, help="stop after N rounds (default: run until interrupted)")
    return parser


def environment_for(args: argparse.Namespace, environ: dict | None = None) -> tuple[dict, str | None]:
    """The environment the job reads its defaults from, and the deployed environment it points at (None: none).

    --env NAME: that deploy's database, model and reports folder win over DATABASE_URL / MODEL_DIR / REPORTS_DIR.
    No --env and no database named: the production deploy when there is one, filling in only what is not set."""
    environ = dict(os.environ if environ is None else environ)
    name = getattr(args, "env", None)
    if name is not None:
        return {**environ, **environment_settings(name, environ=environ)}, name
    if args.database_url or environ.get("DATABASE_URL"):
        return environ, None
    name = deployed_environment(environ)
    if name is None:
        return environ, None
    return {**environment_settings(name, environ=environ), **environ}, name


def config_from_args(args: argparse.Namespace, environ: dict | None = None) -> JobConfig:
    env, _ = environment_for(args, environ)
    return JobConfig.from_env(
        env,
        database_url=args.database_url,
        bundle_dir=args.bundle,
        out_dir=args.out,
        tracking_uri=args.tracking_uri,
        webhook_url=args.webhook_url,
        experiment=args.experiment,
        since=getattr(args, "since", None),
        last=getattr(args, "last", None),
        min_rows=getattr(args, "min_rows", None),
        sample_size=getattr(args, "sample_size", None),
        performance_since=getattr(args, "performance_since", None),
        min_reviewed=getattr(args, "min_reviewed", None),
        min_accuracy=getattr(args, "min_accuracy", None),
    )


def report(outcome: JobOutcome) -> None:
    label = {"ok": "OK", "drift": "DRIFT", "error": "ERROR", "insufficient_data": "NOT ENOUGH DATA"}[outcome.status]
    if outcome.kind == "performance" and outcome.status == "drift":
        label = "DEGRADED"
    print(f"[{outcome.kind}] {label}: {outcome.headline}")
    for name, path in outcome.paths.items():
        print(f"  {name}: {path}")
    if outcome.report_id is not None:
        print(f"  portal report id: {outcome.report_id}")
    mlflow = outcome.summary.get("mlflow", {})
    if mlflow.get("logged"):
        print(f"  MLflow run: {mlflow['run_id']} (experiment {mlflow['experiment']})")
    for note in outcome.notes:
        print(f"  warning: {note}")
    print(f"  exit code {outcome.exit_code}")
    sys.stdout.flush()


def run_schedule(config: JobConfig, *, every: timedelta, max_runs: int | None, stop: threading.Event | None = None) -> int:
    """Run drift then performance every `every` (measured start to start) until stopped or max_runs."""
    from monitoring.jobs import run_drift, run_performance

    stop = stop or threading.Event()
    rounds = 0
    while not stop.is_set():
        started = time.monotonic()
        rounds += 1
        log.info("scheduled round %d", rounds)
        for job in (run_drift, run_performance):
            try:
                report(job(config))
            except Exception:  # a scheduler must outlive one bad round
                log.exception("scheduled %s failed", job.__name__)
        if max_runs is not None and rounds >= max_runs:
            break
        stop.wait(max(0.0, every.total_seconds() - (time.monotonic() - started)))
    log.info("scheduler stopped after %d round(s)", rounds)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env, deployed = environment_for(args)
    if deployed is not None:
        print(f"environment: {deployed} ({environment_dir(deployed, environ=env)}); --env {'/'.join(ENVIRONMENTS)} picks one")
    config = config_from_args(args, env)
    if args.command == "schedule":
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        return run_schedule(config, every=args.every, max_runs=args.max_runs, stop=stop)
    from monitoring.jobs import run_drift, run_performance

    outcome = (run_drift if args.command == "drift" else run_performance)(config)
    report(outcome)
    return outcome.exit_code
