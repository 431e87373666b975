"""bench/serving.py's handling of `mlflow models serve`: a server that cannot start, or does not answer in time,
is stopped by its own pid and its row is printed as failed with its log; the bench still ends and prints the
other rows (a tiny real run, `slow`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

import pytest

from common.paths import PROJECT_ROOT
from common.processes import pid_alive


def _bench_module(name: str):
    """A bench/ script's module, loaded from its file (bench/ is not put on sys.path: its names would shadow packages)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", PROJECT_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MlflowServe = _bench_module("mlflow_serve").MlflowServe
_report = _bench_module("serving_report")
row_table, target_table = _report.row_table, _report.target_table


def test_a_model_that_cannot_be_served_fails_the_start_with_its_log(tmp_path):
    missing = tmp_path / "no-such-model"  # input tried: a model URI naming a folder that does not exist
    server = MlflowServe(str(missing), log=tmp_path / "serve.log", workers=2)
    started = time.monotonic()
    error = server.ready(timeout_s=120)
    assert error is not None and "exited with code" in error
    assert "no-such-model" in error  # the log's end comes with it
    assert time.monotonic() - started < 120
    assert server.proc.poll() is not None and not pid_alive(server.pid)


def test_a_server_that_does_not_answer_in_time_is_stopped(tmp_path):
    server = MlflowServe(str(tmp_path / "no-such-model"), log=tmp_path / "serve.log")
    error = server.ready(timeout_s=0.01)  # input tried: a start-up limit far shorter than mlflow's import time
    assert error is not None and "did not answer /ping within" in error
    assert server.proc.poll() is not None  # stopped by its pid (its process group), not left running
    server.stop()  # idempotent


def _run(rps: float, p99: float, rows: int = 1) -> dict:
    return {"rps": rps, "rows_per_s": rps * rows, "p50_ms": p99 / 3, "p99_ms": p99, "worker_cpu_us_per_request": 400.0,
            "answered": int(rps), "non_2xx": 0}  # fmt: skip


def test_the_report_marks_a_failed_mlflow_row_and_leaves_its_targets_undecided():
    runs = {"noop": [_run(4000, 3)], "echo": [_run(3000, 4)], "classify": [_run(2400, 6)], "batch100": [_run(50, 40, 100)],
            "onnx1": [_run(9000, 0.2)], "onnx100": [_run(200, 6, 100)], "onnx100_plain": [_run(400, 3, 100)]}  # fmt: skip
    results = {
        "runs": runs,
        "mlflow_error": "mlflow models serve exited with code 1 during start-up; log:\nboom",
        "logged": {"sqlite": 7401},
    }
    table = "\n".join(row_table(results))
    assert "| `mlflow models serve` /invocations (same ONNX) | failed: mlflow models serve exited with code 1" in table
    assert "2,400 req/s" in table and "7,401 / 7,401 rows" in table  # 1 + 2,400 + 100 x 50 answered, as logged
    lines, met, decided = target_table(results)
    text = "\n".join(lines)
    assert "| classify vs mlflow models serve | n/a | >= 3x, p99 <= 1/3 | n/a |" in text
    assert "| classify / authenticated echo throughput | 80% | >= 75% | met |" in text
    assert "| batch 100 rows/s / ONNX Runtime alone (with evidence) | 25% | >= 50% | missed |" in text
    assert "| (information) batch 100 rows/s / ONNX Runtime predict only | 12% |  | n/a |" in text
    assert "| (information) ONNX Runtime alone, predict only, 1 text | not run |" in table
    assert (met, decided) == (2, 3)


@pytest.mark.slow
def test_a_tiny_bench_run_with_a_failing_mlflow_serve_prints_every_other_row(tmp_path):
    from tests.webportal.bundle_tool import build_bundle

    bundle = build_bundle(tmp_path / "bundle", version="1")
    cmd = [sys.executable, "bench/serving.py", "--bundle", str(bundle), "--model-uri", str(tmp_path / "no-such-model"),
           "--duration", "1", "--rows", "0", "--no-postgres", "--no-sync", "--mlflow-start-s", "60"]  # fmt: skip
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "`mlflow models serve` FAILED" in out and "no-such-model" in out
    assert "| `mlflow models serve` /invocations (same ONNX) | failed:" in out
    for label in ("no-op Django view", "authenticated echo", "classify API, 1 text, log on SQLite", "batch of 100", "100 texts"):
        line = next(line for line in out.splitlines() if label in line)
        assert "req/s" in line, line
    assert "| classify API, 1 text, log on PostgreSQL | not run |" in out
