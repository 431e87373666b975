"""Fault benchmark (issue 11): what hardening costs and what it holds, measured side by side in one run.

Three portals (gunicorn, 2 workers, --preload, webportal.gunicorn_conf, production settings, SQLite) on
loopback, each on its own fresh database:
  * today:  the sync worker, no spool (what main ran before: `--worker-class sync`, PREDICTION_LOG_SPOOL=0);
  * spool:  the sync worker with the per-worker prediction spool
    (both pass `--threads 1` too: gunicorn_conf sets 4, and with more than one gunicorn runs stock gthread);
  * now:    the defaults (head-buffering gthread worker, 4 threads, and the spool).
Measured for each: classify API throughput and p99 at 8 connections (alternating runs, twice each); /healthz
latency while 64 sockets hold half-sent request heads; and a SIGKILL of one worker under 4 Python clients
with a 10-minute flush interval, counting the answered prediction_ids that are not in the database after the
graceful stop (and of those, how many still wait in a spool file, which the portal's next start replays).

    .venv/bin/python bench/faults.py --bundle artifacts/bundle [--duration 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from http_load import load  # bench/http_load.py, beside this script
from portal import manage  # bench/portal.py, beside this script

from common.paths import PROJECT_ROOT
from common.processes import child_pids, free_port

PYTHON = sys.executable
TEXT = "Cast iron valve body manufactured in 1987, fair condition"
CONFIGS = {
    "today": ({"PREDICTION_LOG_SPOOL": "0"}, ("--worker-class", "sync", "--threads", "1")),
    "spool": ({"PREDICTION_LOG_SPOOL": "1"}, ("--worker-class", "sync", "--threads", "1")),
    "now": ({"PREDICTION_LOG_SPOOL": "1"}, ()),
}


def portal_env(root: Path, bundle: Path, extra: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "webportal.settings.base", "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_URL": f"sqlite:///{root / 'portal.sqlite3'}",
        "SECURE_SSL_REDIRECT": "0", "SECURE_COOKIES": "0", "SECURE_HSTS_SECONDS": "0", "PORTAL_VAR_DIR": str(root / "var"),
        "MODEL_DIR": str(bundle), "MODEL_URI": "", "PORTAL_DEMO_PASSWORD": "Bench-" + secrets.token_hex(6), "LOG_LEVEL": "WARNING",
        **extra,
    })  # fmt: skip
    return env


class Portal:
    def __init__(self, root: Path, bundle: Path, extra_env: dict, args: tuple[str, ...]):
        root.mkdir(parents=True)
        self.root, self.env, self.args = root, portal_env(root, bundle, extra_env), args
        manage(self.env, "migrate", "--noinput")
        manage(self.env, "setup_roles", "--demo-users")
        self.token = re.search(r"([0-9a-f]{40})", manage(self.env, "drf_create_token", "tech")).group(1)
        self.proc = None

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = (self.root / "gunicorn.log").open("a")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "webportal.wsgi", "--config", "python:webportal.gunicorn_conf", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--no-control-socket", "--preload", "--timeout", "120", "--graceful-timeout", "20", *self.args],
            cwd=PROJECT_ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.post(f"{self.url}/api/v1/classify", json={"text": TEXT}, headers=self.headers, timeout=5).ok:
                    time.sleep(1.0)  # the second worker
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit(f"the portal in {self.root} did not serve within 60 s")

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # the master: a graceful stop, as a deploy does
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()

    def api_ids(self) -> set[int]:
        with sqlite3.connect(self.root / "portal.sqlite3") as db:
            return {row[0] for row in db.execute("SELECT id FROM portal_prediction WHERE source = 'api'")}

    def spooled_ids(self) -> set[int]:
        """The row ids in spool files left behind (each line a JSON array, the id first; a torn line is skipped)."""
        ids = set()
        for path in (self.root / "var" / "spool").glob("*.spool"):
            for line in path.read_bytes().splitlines():
                try:
                    ids.add(json.loads(line)[0])
                except ValueError:
                    continue
        return ids


def slow_clients(portal: Portal, n: int = 64) -> dict:
    """/healthz latency (20 calls, 2 s timeout each) while n sockets hold half-sent request heads."""
    held = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", portal.port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(sock)
    time.sleep(1.0)
    latencies, failures = [], 0
    try:
        for _ in range(20):
            started = time.perf_counter()
            try:
                ok = requests.get(f"{portal.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok
    finally:
        for sock in held:
            sock.close()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2], "max_ms": latencies[-1], "failed": failures, "calls": len(latencies)}


def sigkill(portal: Portal, seconds: float = 3.0) -> dict:
    """4 clients classify; one worker is SIGKILLed after `seconds`; the load goes on as long again; graceful stop.
    lost: answered, not in the database after the stop; in_spool: of those, the ones a spool file still holds."""
    answered, lock, stop = set(), threading.Lock(), threading.Event()

    def client(tag: int) -> None:
        with requests.Session() as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = http.post(f"{portal.url}/api/v1/classify", json={"text": f"{TEXT} {tag}-{i}"}, headers=portal.headers, timeout=10)
                except requests.RequestException:
                    continue
                if r.status_code == 200:
                    with lock:
                        answered.add(r.json()["prediction_id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    os.kill(child_pids(portal.proc.pid)[0], signal.SIGKILL)
    time.sleep(seconds + 2)  # gunicorn starts a replacement, which replays the dead worker's spool
    stop.set()
    for t in threads:
        t.join(timeout=30)
    portal.stop()
    missing = answered - portal.api_ids()
    return {"answered": len(answered), "lost": len(missing), "in_spool": len(missing & portal.spooled_ids())}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path(os.environ.get("MODEL_DIR") or PROJECT_ROOT / "artifacts" / "bundle"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per throughput run (each portal runs twice, alternating)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not (args.bundle / "model.onnx").is_file():
        raise SystemExit(f"no inference bundle at {args.bundle}: train one (make run) or pass --bundle")
    args.duration = max(1, min(args.duration, 60))
    return args


def measure(args: argparse.Namespace) -> dict:
    results: dict = {name: {"runs": []} for name in CONFIGS}
    body = json.dumps({"text": TEXT})
    with tempfile.TemporaryDirectory(prefix="faults-bench-") as tmp:
        portals = {name: Portal(Path(tmp) / name, args.bundle.resolve(), env, extra) for name, (env, extra) in CONFIGS.items()}
        try:
            for portal in portals.values():
                portal.start()
            for _ in range(2):
                for name, portal in portals.items():
                    run = load(f"{portal.url}/api/v1/classify", duration=args.duration, connections=8, post_body=body,
                               token=portal.token, workdir=Path(tmp))  # fmt: skip
                    results[name]["runs"].append(run)
            for name, portal in portals.items():
                results[name]["slow"] = slow_clients(portal)
        finally:
            for portal in portals.values():
                portal.stop()
        for name, portal in portals.items():  # one at a time: the kill runs alone on the machine
            portal.env["PREDICTION_LOG_FLUSH_MS"] = "600000"  # nothing reaches the database but through the spool
            portal.start()
            results[name]["kill"] = sigkill(portal)
    return results


def main() -> None:
    args = parse_args()
    results = measure(args)
    base = sum(r["rps"] for r in results["today"]["runs"]) / 2
    print(f"\nFault benchmark: 2 workers (--preload), SQLite, 8 connections, 2 x {args.duration} s per portal, bundle {args.bundle}\n")
    print(
        "| portal | classify req/s | vs today | p99 ms | /healthz with 64 slow clients: p50 / max ms, failed "
        "| SIGKILL: answered / lost (in spool) |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        rps = sum(x["rps"] for x in r["runs"]) / 2
        p99 = max(x["p99_ms"] for x in r["runs"])
        slow, kill = r["slow"], r["kill"]
        print(f"| {name} | {rps:,.0f} | {rps / base:.0%} | {p99:.1f} | {slow['p50_ms']:.0f} / {slow['max_ms']:.0f}, "
              f"{slow['failed']} of {slow['calls']} | {kill['answered']:,} / {kill['lost']:,} ({kill['in_spool']:,}) |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
