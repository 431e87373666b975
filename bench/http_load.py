"""HTTP load for the benchmarks: `wrk` when installed, else a bounded Python generator; the same result keys.

load(url, duration=10, connections=8, post_body=None, token=None, workdir=tmp)  (no token: no Authorization header)
-> {"requests", "rps", "p50_ms", "p99_ms", "non_2xx", "socket_errors"}
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path


def _wrk(url: str, *, duration: int, connections: int, post_body: str | None, token: str | None, workdir: Path) -> dict:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if post_body is not None:
        script = workdir / "post.lua"
        lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(post_body)}", 'wrk.headers["Content-Type"] = "application/json"']
        lines += [f'wrk.headers["Authorization"] = "Token {token}"'] if token else []
        script.write_text("\n".join(lines) + "\n")
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": rps,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _python_load(url: str, *, duration: int, connections: int, post_body: str | None, token: str | None, workdir: Path) -> dict:
    """Bounded fallback: `connections` threads, each one request at a time, for `duration` seconds."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker():
        mine, errors = [], 0
        while time.perf_counter() < deadline:
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            started = time.perf_counter()
            try:
                if post_body is None:
                    conn.request("GET", path)
                else:
                    headers = {"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
                    conn.request("POST", path, body=post_body, headers=headers)
                status = conn.getresponse().status
                mine.append(time.perf_counter() - started)
                errors += status >= 400
            except OSError:
                errors += 1
            finally:
                conn.close()
        with lock:
            latencies.extend(mine)
            bad[0] += errors

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "non_2xx": bad[0],
        "socket_errors": "",
    }


def load(url: str, **kw) -> dict:
    return (_wrk if shutil.which("wrk") else _python_load)(url, **kw)
