"""Serving benchmark: the classify API against what a user would pick instead, side by side in one run.

Rows (same load generator, 8 connections, 2 workers everywhere, each row run twice, alternating):
  no-op Django view; authenticated echo (/bench/echo: classify's token auth and JSON validation, the texts
  answered back); classify API with the write-behind prediction log on SQLite and on PostgreSQL; classify
  with batches of 100 texts (rows/s); `mlflow models serve` of the same registered ONNX model
  (--env-manager local, its /invocations); the Predictor (tokenizer + ONNX Runtime, predict + evidence as the API
  does, and predict only) alone in a loop, batch 1 and batch 100. The portal runs as deployed (the head-buffering
  gthread worker of webportal.gunicorn_conf, connections kept alive); gunicorn's sync worker as information.
  Each with throughput, p50/p99, CPU per request of the serving processes, answers vs logged rows.
Then cold start, worker RSS and a CSV import through the upload page, as bench/portal.py measured them.

Its own MLflow server in a temporary folder holds the registered model: the bundle given (default: `make run`'s
var/deploy/production/model when present), else a small training through ml.training_run. Ports are free
loopback ones; every server is stopped by its own pid.

    .venv/bin/python bench/serving.py [--bundle DIR] [--duration 10] [--rows 100000] [--no-postgres] [--no-sync]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mlflow_serve import MlflowServe
from portal import Gunicorn, cold_start, count_api_predictions, csv_import, manage, portal_env, rss_mb
from serving_report import print_report
from serving_rows import TEXT, http_row, mlflow_body, onnx_alone, postgres_database, tree_cpu_s

from common.paths import PROJECT_ROOT

MAKE_RUN_BUNDLE = PROJECT_ROOT / "var" / "deploy" / "production" / "model"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=None, help="default: make run's bundle when present, else a small training")
    parser.add_argument("--model-uri", default=None, help="serve this with mlflow instead of registering the bundle (needs --bundle)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run (each row runs twice)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the CSV import (0: no import)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL (a database is made)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sync", action="store_true", help="skip the sync-worker rows (the portal before its head-buffering worker)")
    parser.add_argument("--mlflow-start-s", type=float, default=180.0, help="how long `mlflow models serve` may take to answer")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.bundle is None and (MAKE_RUN_BUNDLE / "model.onnx").is_file():
        args.bundle = MAKE_RUN_BUNDLE
    if args.bundle is not None and not (args.bundle / "model.onnx").is_file():
        raise SystemExit(f"no inference bundle at {args.bundle}")
    if args.model_uri and args.bundle is None:
        raise SystemExit("--model-uri needs --bundle (the same model)")
    args.duration = max(1, min(args.duration, 60))
    return args


def portal(root: Path, bundle: Path, database_url: str, workers: int, extra_args: tuple[str, ...] = ()) -> tuple[Gunicorn, str, dict]:
    env = portal_env(root, bundle.resolve(), database_url)
    env["PORTAL_BENCH_NOOP"] = "1"
    manage(env, "migrate", "--noinput")
    manage(env, "setup_roles", "--demo-users")
    token = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech")).group(1)
    return Gunicorn(env, root / "gunicorn.log", workers=workers, extra_args=extra_args), token, env


def model_and_mlflow(args: argparse.Namespace, root: Path) -> tuple[Path, MlflowServe | None, str, str]:
    """(bundle, the started `mlflow models serve` or None, how the model was made, its failure or '')."""
    from serving_model import bench_model

    from mlruns_server import start_server

    if args.model_uri:  # resolved by mlflow itself (MLFLOW_TRACKING_URI from the environment for models:/)
        server = MlflowServe(args.model_uri, log=root / "mlflow-serve.log", workers=args.workers)
        error = server.ready(args.mlflow_start_s)
        return args.bundle, (None if error else server), f"the bundle {args.bundle}, mlflow serving {args.model_uri}", error or ""
    tracking = start_server(var_dir=root / "mlflow", workers=1, timeout_s=120)
    try:
        bundle, uri, how = bench_model(root, tracking.uri, args.bundle)
        server = MlflowServe(uri, log=root / "mlflow-serve.log", workers=args.workers, env={"MLFLOW_TRACKING_URI": tracking.uri})
        error = server.ready(args.mlflow_start_s)  # it downloads the model from the tracking server while starting
    finally:
        tracking.stop()
    return bundle, (None if error else server), how, error or ""


def plan(args, servers: dict, tokens: dict, mlflow_server, bodies: dict, predictor, batch: list[str]) -> list[tuple[str, object]]:
    """(row key, a function measuring it once) in the order they alternate."""
    kw = {"duration": args.duration, "connections": args.connections}

    def http(key: str, url: str, pid: int, body: str | None, token: str | None, rows: int = 1):
        def once(workdir: Path) -> dict:
            return http_row(url, cpu=lambda: tree_cpu_s(pid), post_body=body, token=token, rows_per_request=rows, workdir=workdir, **kw)

        return key, once

    sqlite, single = servers["sqlite"], bodies["single"]
    steps = [
        http("noop", f"{sqlite.url}/bench/noop", sqlite.proc.pid, None, None),
        http("echo", f"{sqlite.url}/bench/echo", sqlite.proc.pid, single, tokens["sqlite"]),
        http("classify", f"{sqlite.url}/api/v1/classify", sqlite.proc.pid, single, tokens["sqlite"]),
    ]
    if "pg" in servers:
        steps.append(http("classify_pg", f"{servers['pg'].url}/api/v1/classify", servers["pg"].proc.pid, single, tokens["pg"]))
    if "sync" in servers:
        sync = servers["sync"]
        steps.append(http("echo_sync", f"{sync.url}/bench/echo", sync.proc.pid, single, tokens["sync"]))
        steps.append(http("classify_sync", f"{sync.url}/api/v1/classify", sync.proc.pid, single, tokens["sync"]))
    steps.append(http("batch100", f"{sqlite.url}/api/v1/classify", sqlite.proc.pid, bodies["batch"], tokens["sqlite"], len(batch)))
    if mlflow_server is not None:
        steps.append(http("mlflow", f"{mlflow_server.url}/invocations", mlflow_server.pid, bodies["mlflow"], None))
    steps.append(("onnx1", lambda workdir: onnx_alone(predictor, [TEXT], args.duration)))
    steps.append(("onnx100", lambda workdir: onnx_alone(predictor, batch, args.duration)))
    steps.append(("onnx1_plain", lambda workdir: onnx_alone(predictor, [TEXT], args.duration, evidence=False)))
    steps.append(("onnx100_plain", lambda workdir: onnx_alone(predictor, batch, args.duration, evidence=False)))
    return steps


def run_rows(steps, workdir: Path) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {key: [] for key, _ in steps}
    for _ in range(2):
        for key, measure_once in steps:
            runs[key].append(measure_once(workdir))
    return runs


def measure(args: argparse.Namespace) -> dict:
    from ml.data import generate
    from ml.predictor import Predictor

    results: dict = {"tool": "wrk" if shutil.which("wrk") else "python", "connections": args.connections, "workers": args.workers}
    results["load_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp, _maybe_postgres(args) as pg_url:
        root = Path(tmp)
        bundle, mlflow_server, results["model"], results["mlflow_error"] = model_and_mlflow(args, root)
        predictor = Predictor.from_bundle(bundle, threads=1)
        batch = generate(100, seed=3)["text"].tolist()
        bodies = {"single": json.dumps({"text": TEXT}), "batch": json.dumps({"texts": batch})}
        servers, tokens, stop = {}, {}, []
        try:
            if mlflow_server is not None:
                stop.append(mlflow_server.stop)
                bodies["mlflow"], results["mlflow_input"], results["mlflow_probability"] = mlflow_body(predictor, mlflow_server.url)
            results["onnx_probability"] = float(predictor.predict_proba([TEXT])[0])
            (root / "sqlite").mkdir()
            sqlite_url = f"sqlite:///{root / 'sqlite' / 'portal.sqlite3'}"
            servers["sqlite"], tokens["sqlite"], _ = portal(root / "sqlite", bundle, sqlite_url, args.workers)
            stop.append(servers["sqlite"].stop)
            results["cold_start_s"] = cold_start(servers["sqlite"], tokens["sqlite"])
            if pg_url:
                (root / "pg").mkdir()
                servers["pg"], tokens["pg"], _ = portal(root / "pg", bundle, pg_url, args.workers)
                stop.append(servers["pg"].stop)
                cold_start(servers["pg"], tokens["pg"])
            if not args.no_sync:
                (root / "sync").mkdir()
                sync_url = f"sqlite:///{root / 'sync' / 'portal.sqlite3'}"
                extra = ("--worker-class", "sync", "--threads", "1")  # gunicorn's sync worker: one connection per request
                servers["sync"], tokens["sync"], _ = portal(root / "sync", bundle, sync_url, args.workers, extra)
                stop.append(servers["sync"].stop)
                cold_start(servers["sync"], tokens["sync"])
            time.sleep(1.0)  # the second workers finish booting
            results["runs"] = run_rows(plan(args, servers, tokens, mlflow_server, bodies, predictor, batch), root)
            results["worker_rss_mb"] = [rss_mb(pid) for pid in servers["sqlite"].worker_pids()]
            results["import"] = csv_import(servers["sqlite"], args.rows, root) if args.rows else None
        finally:
            for stop_one in reversed(stop):
                stop_one()
        results["logged"] = {"sqlite": count_api_predictions(sqlite_url), **({"pg": count_api_predictions(pg_url)} if pg_url else {})}
        if not args.no_sync:
            results["logged"]["sync"] = count_api_predictions(sync_url)
    results["load_after"] = os.getloadavg()
    return results


class _maybe_postgres:
    """postgres_database(args.postgres) unless --no-postgres or the server does not answer (then None, said once)."""

    def __init__(self, args):
        self.args, self.inner = args, None

    def __enter__(self):
        if self.args.no_postgres:
            return None
        try:
            self.inner = postgres_database(self.args.postgres)
            return self.inner.__enter__()
        except Exception as exc:  # the PostgreSQL row is then reported as not run
            print(f"PostgreSQL at {self.args.postgres} unavailable ({exc}): the PostgreSQL row is skipped", file=sys.stderr)
            self.inner = None
            return None

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc) if self.inner is not None else False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    results = measure(args)
    print_report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
