"""Portal benchmark (targets: docs/architecture.md), on loopback only, bounded in time. `make bench` runs
bench/serving.py, which measures all of this beside the authenticated echo, PostgreSQL, batches,
`mlflow models serve` and ONNX Runtime alone, and uses this module's pieces (gunicorn, cold start, import).

gunicorn with 2 workers serves the portal (production settings, SQLite by default). Measured side by side
in one run:
  * classify API with prediction logging vs a no-op Django view (same middleware), 8 connections:
    throughput ratio and p99 latency (load from `wrk` when installed, else a bounded Python generator), and
    the workers' CPU per request (from /proc) for each;
  * cold start: gunicorn launch to the first served classification;
  * worker memory (RSS of each worker after the load);
  * a 100,000-row CSV import through the upload page (logged in as a technician).

    .venv/bin/python bench/portal.py --bundle artifacts/bundle [--duration 10] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from http_load import load  # bench/http_load.py, beside this script

from common.paths import PROJECT_ROOT
from common.processes import child_pids, free_port

PYTHON = sys.executable
TARGETS = {"throughput_ratio": 0.75, "p99_ms": 20.0, "cold_start_s": 1.5, "worker_rss_mb": 150.0, "import_s": 15.0}
PASSWORD = "Bench-" + secrets.token_hex(6)


def portal_env(root: Path, bundle: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "webportal.settings.base",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url or f"sqlite:///{root / 'portal.sqlite3'}",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "PORTAL_VAR_DIR": str(root / "var"),
            "MODEL_DIR": str(bundle),
            "MODEL_URI": "",
            "PORTAL_BENCH_NOOP": "1",
            "PORTAL_DEMO_PASSWORD": PASSWORD,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(env: dict, *args: str) -> str:
    proc = subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


class Gunicorn:
    def __init__(self, env: dict, log: Path, workers: int = 2, extra_args: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "webportal.wsgi", "--config", "python:webportal.gunicorn_conf",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--no-control-socket", "--preload", "--timeout", "120", "--log-level", "warning", *extra_args],
            cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def worker_pids(self) -> list[int]:
        return child_pids(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def workers_cpu_s(server: Gunicorn) -> float:
    """User + system CPU seconds the workers have used (from /proc), to split a request's cost by process."""
    total = 0.0
    for pid in server.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(server: Gunicorn, token: str, limit: float = 60.0) -> float:
    body = json.dumps({"text": "Steel gear manufactured in 2001 in good condition"})
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    while time.perf_counter() - server.started < limit:
        try:
            if requests.post(f"{server.url}/api/v1/classify", data=body, headers=headers, timeout=5).status_code == 200:
                return time.perf_counter() - server.started
        except requests.RequestException:
            pass
        if server.proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        time.sleep(0.01)
    raise SystemExit("no classification served within the limit")


# ---------------------------------------------------------------- import


def csv_import(server: Gunicorn, rows: int, workdir: Path) -> dict:
    from ml.data import generate

    frame = generate(rows, seed=11)
    path = workdir / "import.csv"
    frame[["text"]].to_csv(path, index=False)
    session = requests.Session()
    page = session.get(f"{server.url}/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(f"{server.url}/accounts/login/", data={"username": "tech", "password": PASSWORD, "csrfmiddlewaretoken": csrf}, timeout=10)
    form = session.get(f"{server.url}/components/import/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    started = time.perf_counter()
    with path.open("rb") as fh:
        response = session.post(
            f"{server.url}/components/import/",
            data={"csrfmiddlewaretoken": csrf, "key": "bench"},
            files={"file": ("import.csv", fh, "text/csv")},
            timeout=300,
        )
    seconds = time.perf_counter() - started
    imported = re.search(r'id="imported-count">(\d+)<', response.text)
    return {"rows": rows, "seconds": seconds, "imported": int(imported.group(1)) if imported else 0, "status": response.status_code}


def count_api_predictions(database_url: str) -> int:
    query = "SELECT COUNT(*) FROM portal_prediction WHERE source = 'api'"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            return db.execute(query).fetchone()[0]
    import psycopg

    with psycopg.connect(database_url) as db:
        return db.execute(query).fetchone()[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path(os.environ.get("MODEL_DIR") or PROJECT_ROOT / "artifacts" / "bundle"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run (each view runs twice, alternating)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the CSV import")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if not (args.bundle / "model.onnx").is_file():
        raise SystemExit(f"no inference bundle at {args.bundle}: train one (make run) or pass --bundle")
    args.duration = max(1, min(args.duration, 60))
    return args


def view_runs(server: Gunicorn, args: argparse.Namespace, token: str, workdir: Path) -> dict[str, list[dict]]:
    """The no-op view and the classify API, alternating, twice each; with the workers' CPU per request."""
    body = json.dumps({"text": "Cast iron valve body manufactured in 1987, fair condition"})
    runs: dict[str, list[dict]] = {"noop": [], "classify": []}
    for _ in range(2):
        for name, path, post_body in (("noop", "/bench/noop", None), ("classify", "/api/v1/classify", body)):
            before = workers_cpu_s(server)
            result = load(
                f"{server.url}{path}",
                duration=args.duration,
                connections=args.connections,
                post_body=post_body,
                token=token,
                workdir=workdir,
            )
            result["worker_cpu_us_per_request"] = (workers_cpu_s(server) - before) / max(1, result["requests"]) * 1e6
            runs[name].append(result)
    return runs


def measure(args: argparse.Namespace) -> dict:
    """Everything, on a fresh database in a temporary folder: cold start, the load runs, memory, the import."""
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        root = Path(tmp)
        env = portal_env(root, args.bundle.resolve(), args.database_url)
        manage(env, "migrate", "--noinput")
        manage(env, "setup_roles", "--demo-users")
        token = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech")).group(1)
        server = Gunicorn(env, root / "gunicorn.log")
        try:
            start_s = cold_start(server, token)
            time.sleep(1.0)  # let the second worker finish booting before the load
            runs = view_runs(server, args, token, root)
            rss = [rss_mb(pid) for pid in server.worker_pids()]
            imported = csv_import(server, args.rows, root)
        finally:
            server.stop()
        logged = count_api_predictions(args.database_url or f"sqlite:///{root / 'portal.sqlite3'}")
    return {
        "tool": "wrk" if shutil.which("wrk") else "python",
        "connections": args.connections,
        "duration_s": args.duration,
        "noop": runs["noop"],
        "classify": runs["classify"],
        "cold_start_s": start_s,
        "worker_rss_mb": rss,
        "import": imported,
        "api_predictions_logged": logged,
        "prediction_log_flush_ms": env.get("PREDICTION_LOG_FLUSH_MS", "100 (default)"),
    }


def table(results: dict) -> tuple[list[tuple[str, str, str, str]], list[bool]]:
    """The rows printed (measure, result, target, ratio) and whether each target is met."""

    def mean(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    noop_rps, cls_rps = mean("noop", "rps"), mean("classify", "rps")
    cls_p99 = max(r["p99_ms"] for r in results["classify"])
    start_s, rss, imported = results["cold_start_s"], results["worker_rss_mb"], results["import"]
    cpu_noop, cpu_cls = mean("noop", "worker_cpu_us_per_request"), mean("classify", "worker_cpu_us_per_request")
    rows = [
        ("no-op Django view throughput", f"{noop_rps:,.0f} req/s", "baseline", ""),
        ("classify API throughput (with logging)", f"{cls_rps:,.0f} req/s", ">= 75% of no-op", f"{cls_rps / noop_rps:.0%} of no-op"),
        (
            "classify API p50 / p99 at 8 connections",
            f"{mean('classify', 'p50_ms'):.1f} / {cls_p99:.1f} ms",
            "p99 < 20 ms",
            f"{cls_p99 / TARGETS['p99_ms']:.2f}x target",
        ),
        ("no-op p50 / p99 at 8 connections", f"{mean('noop', 'p50_ms'):.1f} / {max(r['p99_ms'] for r in results['noop']):.1f} ms", "", ""),
        ("worker CPU per request: no-op / classify", f"{cpu_noop:.0f} / {cpu_cls:.0f} us", "", f"classify costs {cpu_cls / cpu_noop:.2f}x"),
        ("cold start to first classification", f"{start_s:.2f} s", "< 1.5 s", f"{start_s / TARGETS['cold_start_s']:.2f}x target"),
        (
            "worker RSS (each of 2)",
            " / ".join(f"{m:.0f} MB" for m in rss),
            "< 150 MB",
            f"{max(rss) / TARGETS['worker_rss_mb']:.2f}x target" if rss else "",
        ),
        (
            f"CSV import, {imported['rows']:,} rows",
            f"{imported['seconds']:.1f} s ({imported['imported']:,} stored)",
            "< 15 s",
            f"{imported['seconds'] / TARGETS['import_s']:.2f}x target",
        ),
    ]
    verdicts = [
        cls_rps / noop_rps >= TARGETS["throughput_ratio"],
        cls_p99 < TARGETS["p99_ms"],
        start_s < TARGETS["cold_start_s"],
        bool(rss) and max(rss) < TARGETS["worker_rss_mb"],
        imported["seconds"] < TARGETS["import_s"] and imported["imported"] == imported["rows"],
    ]
    return rows, verdicts


def main() -> None:
    args = parse_args()
    results = measure(args)
    rows, verdicts = table(results)
    print(f"\nPortal benchmark: gunicorn 2 workers (--preload), load by {results['tool']}, {args.connections} connections,", end=" ")
    print(f"2 x {args.duration} s per view, bundle {args.bundle}\n")
    print("| measure | result | target | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    answered = 1 + sum(r["requests"] - r["non_2xx"] for r in results["classify"])  # + the cold-start request
    logged = results["api_predictions_logged"]
    print(f"\ntargets met: {sum(verdicts)} of {len(verdicts)}; API predictions logged: {logged} for {answered} answers counted by the load")
    print(f"generator (which does not count the up to {args.connections} requests in flight when each run ends)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
