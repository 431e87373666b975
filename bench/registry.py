"""Registry latency through the tracking server: alias resolution and bundle download (median, p99).

    .venv/bin/python bench/registry.py                      # starts its own server (SQLite in a temp folder)
    .venv/bin/python bench/registry.py --tracking-uri URI   # measures an existing server (registers a bench model there)

The bench model has the size of a real one (TextCNN, 100-d embeddings, 2,000-row reference sample) with
untrained weights: latency does not depend on accuracy. The training run is logged in the contract's
shape by the registry tests' helper (tests/registry/helpers.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL_NAME = "registry-bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench_model():
    import torch

    from ml.data import generate
    from ml.models import build_model
    from ml.text import build_spec
    from tests.registry.helpers import TinyModel

    frame = generate(3000, seed=1)
    spec = build_spec(frame["text"], max_length=48)
    torch.manual_seed(0)
    model = build_model("cnn", embeddings=torch.randn(spec.vocab_size, 100), spec=spec).eval()
    return TinyModel(name="registry-bench", model=model, spec=spec)


def run(uri: str, repeat: int, downloads: int) -> list[tuple[str, int, float, float]]:
    import requests

    from ml.registry import download_bundle, get_client, promote, register_run
    from tests.registry.helpers import log_training_run

    run_id = log_training_run(uri, bench_model(), experiment="registry-bench", reference_rows=2000)
    ref = register_run(run_id, model_name=MODEL_NAME, tracking_uri=uri)
    promote(ref.version, reason="benchmark", actor="bench", model_name=MODEL_NAME, tracking_uri=uri)
    client = get_client(uri)
    session = requests.Session()
    rest = f"{uri}/api/2.0/mlflow/registered-models/alias"

    def rest_alias():
        resp = session.get(rest, params={"name": MODEL_NAME, "alias": "champion"}, timeout=10)
        resp.raise_for_status()
        return resp.json()["model_version"]["version"]

    rows = []
    samples = timed(rest_alias, repeat)
    rows.append(("alias -> version, plain REST GET (what a portal needs)", repeat, statistics.median(samples), percentile(samples, 99)))
    samples = timed(lambda: client.get_model_version_by_alias(MODEL_NAME, "champion"), repeat)
    rows.append(("alias -> version, MlflowClient.get_model_version_by_alias", repeat, statistics.median(samples), percentile(samples, 99)))
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "bundle"
        samples = timed(lambda: download_bundle(dst, model_name=MODEL_NAME, tracking_uri=uri), downloads, warmup=1)
        size = sum(p.stat().st_size for p in dst.iterdir())
    name = f"bundle download @champion ({size / 1024:.0f} KiB, 5 files, checksum verified)"
    rows.append((name, downloads, statistics.median(samples), percentile(samples, 99)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", help="an existing server (default: start one)")
    parser.add_argument("--repeat", type=int, default=300, help="alias resolutions per method")
    parser.add_argument("--downloads", type=int, default=40, help="bundle downloads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the server this bench starts")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    server = None
    uri = args.tracking_uri
    with tempfile.TemporaryDirectory() as tmp:
        if uri is None:
            from mlruns_server import start_server

            server = start_server(var_dir=tmp, workers=args.workers)
            uri = server.uri
        try:
            rows = run(uri, args.repeat, args.downloads)
        finally:
            if server is not None:
                server.stop()
    where = f"`python -m mlruns_server` (SQLite, {args.workers} workers)" if server else uri
    print(f"\nRegistry latency through {where}, {os.cpu_count()} CPUs\n")
    print("| operation | n | median ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, n, median, p99 in rows:
        print(f"| {name} | {n} | {median:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
