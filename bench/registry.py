"""Registry latency through the tracking server: alias resolution and bundle download (median, p99).

    .venv/bin/python bench/registry.py                      # starts its own server (SQLite in a temp folder)
    .venv/bin/python bench/registry.py --tracking-uri URI   # measures an existing server (registers a bench model there)

The bench model has the size of a real one (TextCNN, 100-d embeddings, 2,000-row reference sample) and comes
from the real training path (ml.training_run.train: one epoch on 3,000 generated rows, so it is quick and barely
trained): latency does not depend on accuracy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the project's packages first

BENCH_MODEL = "registry-bench"


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


def bench_run(uri: str, folder: Path) -> str:
    """A training run in the contract's shape (both flavors, bundle/ artifacts), logged by ml.training_run."""
    from ml.data import generate
    from ml.training_run import TrainConfig, train

    data = folder / "components.csv"
    generate(3000, seed=1).to_csv(data, index=False)
    config = TrainConfig(
        data=data,
        out=folder / "bundle",
        epochs=1,
        glove_epochs=5,
        holdout_rows=200,
        reference_rows=2000,
        parity_rows=200,
        tracking_uri=uri,
        experiment="registry-bench",
        model_name=BENCH_MODEL,
        progress=False,
    )
    return train(config).run_id


def run(uri: str, repeat: int, downloads: int) -> list[tuple[str, int, float, float]]:
    import requests

    from ml.registry import download_bundle, get_client, promote, register_run

    with tempfile.TemporaryDirectory() as tmp:
        run_id = bench_run(uri, Path(tmp))
    ref = register_run(run_id, model_name=BENCH_MODEL, tracking_uri=uri)
    promote(ref.version, reason="benchmark", actor="bench", model_name=BENCH_MODEL, tracking_uri=uri)
    client = get_client(uri)
    session = requests.Session()
    rest = f"{uri}/api/2.0/mlflow/registered-models/alias"

    def rest_alias():
        resp = session.get(rest, params={"name": BENCH_MODEL, "alias": "champion"}, timeout=10)
        resp.raise_for_status()
        return resp.json()["model_version"]["version"]

    rows = []
    samples = timed(rest_alias, repeat)
    rows.append(("alias -> version, plain REST GET (what a portal needs)", repeat, statistics.median(samples), percentile(samples, 99)))
    samples = timed(lambda: client.get_model_version_by_alias(BENCH_MODEL, "champion"), repeat)
    rows.append(("alias -> version, MlflowClient.get_model_version_by_alias", repeat, statistics.median(samples), percentile(samples, 99)))
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "bundle"
        samples = timed(lambda: download_bundle(dst, model_name=BENCH_MODEL, tracking_uri=uri), downloads, warmup=1)
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
