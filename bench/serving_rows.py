"""The serving benchmark's measurements: one HTTP load row, ONNX Runtime alone in a loop, CPU of a process tree,
the `mlflow models serve` request body, a throwaway PostgreSQL database."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from http_load import load  # bench/http_load.py, beside this script

from common.processes import child_pids

TEXT = "Cast iron valve body manufactured in 1987, fair condition"


def tree_cpu_s(pid: int, *, include_root: bool = False) -> float:
    """User + system CPU seconds of a process's descendants (and itself), from /proc."""
    total, todo = 0.0, child_pids(pid) + ([pid] if include_root else [])
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += child_pids(current)
    return total


def _own_cpu_s() -> float:
    """CPU of this process and its waited-for children (wrk runs as one): the load generator's cost."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def http_row(url: str, *, cpu: Callable[[], float], rows_per_request: int = 1, **load_kw) -> dict:
    """One wrk (or Python) load run, with the serving processes' CPU per request and rows per second."""
    before, generator = cpu(), _own_cpu_s()
    result = load(url, **load_kw)
    result["worker_cpu_us_per_request"] = (cpu() - before) / max(1, result["requests"]) * 1e6
    result["load_cpu_us_per_request"] = (_own_cpu_s() - generator) / max(1, result["requests"]) * 1e6
    result["rows_per_s"] = result["rps"] * rows_per_request
    result["answered"] = result["requests"] - result["non_2xx"]
    return result


def onnx_alone(predictor, texts: list[str], seconds: float, *, evidence: bool = True) -> dict:
    """The Predictor (tokenizer + ONNX Runtime) on `texts` in a loop in this process: one call per "request". With
    evidence, each call also explains every text (ml.evidence), the model work the classify API does per request."""

    def work(batch):
        predictor.predict_proba(batch)
        if evidence:
            predictor.explain(batch)

    work(texts)  # warm-up
    latencies: list[float] = []
    cpu0, deadline = time.process_time(), time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        work(texts)
        latencies.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "answered": n,
        "rps": n / elapsed,
        "rows_per_s": n * len(texts) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(n - 1, int(0.99 * n))] * 1000,
        "worker_cpu_us_per_request": cpu / n * 1e6,
        "load_cpu_us_per_request": 0.0,
        "non_2xx": 0,
    }


def first_number(value) -> float:
    """The first number in a JSON answer ({"predictions": {"probability": [[0.93]]}} -> 0.93)."""
    while isinstance(value, dict | list):
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return float(value)


def mlflow_body(predictor, url: str) -> tuple[str, str, float]:
    """The /invocations body for TEXT's ids, as the served signature takes them: cut after the text when the
    server accepts that (what the portal feeds its model), else padded to max_length. (body, shape, probability)."""
    import requests

    full = predictor.encode([TEXT])
    for ids, how in ((predictor.trim(full), "cut after the text"), (full, f"padded to max_length {full.shape[1]}")):
        body = json.dumps({"inputs": ids.tolist()})
        response = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30)
        if response.ok:
            return body, f'{{"inputs": [[{ids.shape[1]} int64 ids]]}}, a [1, {ids.shape[1]}] tensor {how}', first_number(response.json())
    raise RuntimeError(f"mlflow models serve refused both shapes of the ids: {response.status_code} {response.text[:500]}")


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server at admin_url, dropped afterwards; yields its URL."""
    import psycopg

    name = f"serving_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
