"""The drift job over a prediction log of millions of rows on PostgreSQL: wall time and peak memory, side by side
with a 100,000-row log, in one run.

    python bench/monitoring_postgres.py [--bundle artifacts/bundle] [--rows 100000 10000000] [--sample-size 100000]

For each size: a throwaway database (the portal's real migrations) filled with one COPY of `rows` predictions
spread over the last six days (texts drawn from a pool of generated descriptions scored by the bundle's model),
then `python -m monitoring drift --since 7d` in a fresh process. The database is dropped afterwards. Targets
(issue: monitoring over millions of predictions): 10,000,000 rows in under 5 minutes and under 1 GB peak RSS.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the project's packages first

from bench.monitoring import run_job
from common.paths import PROJECT_ROOT

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
COLUMNS = "text, probability, label, model_name, model_version, latency_ms, source, created_at"
BLOCK = 500_000


def create_database() -> tuple[str, str]:
    import psycopg

    name = f"bench_monitoring_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        drop_database(name)
        raise SystemExit(f"manage.py migrate failed:\n{done.stderr[-2000:]}")
    return name, url


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(name: str, rows: int, predictor, *, pool_rows: int = 200_000, seed: int = 5) -> float:
    """One COPY of `rows` predictions; returns its seconds."""
    import pandas as pd
    import psycopg

    from ml.data import generate

    pool = generate(min(rows, pool_rows), seed=seed)["text"].to_numpy()
    probs = predictor.predict_proba(list(pool)).astype(float)
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(datetime.now(UTC) - timedelta(minutes=1))
    started = time.perf_counter()
    with psycopg.connect(f"{ADMIN.replace('dbname=postgres', f'dbname={name}')}") as conn, conn.cursor() as cur:
        with cur.copy(f"COPY portal_prediction ({COLUMNS}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, rows, BLOCK):
                n = min(BLOCK, rows - start)
                pick = rng.integers(0, len(pool), n)
                offsets = (rows - start - np.arange(n)) * (6 * 86_400 / rows)
                block = pd.DataFrame(
                    {
                        "text": pool[pick],
                        "probability": probs[pick].round(6),
                        "label": (probs[pick] >= predictor.threshold).astype(int),
                        "model_name": predictor.model_name,
                        "model_version": predictor.version,
                        "latency_ms": rng.gamma(2.0, 1.5, n).round(3),
                        "source": "api",
                        "created_at": (end - pd.to_timedelta(offsets, unit="s")).strftime("%Y-%m-%d %H:%M:%S.%f+00"),
                    }
                )
                buffer = io.StringIO()
                block.to_csv(buffer, index=False, header=False)
                copy.write(buffer.getvalue())
        conn.commit()
        cur.execute("ANALYZE portal_prediction")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=PROJECT_ROOT / "artifacts" / "bundle")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 10_000_000])
    parser.add_argument("--sample-size", type=int, default=100_000)
    args = parser.parse_args()

    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(args.bundle)
    results = []
    for rows in args.rows:
        name, url = create_database()
        try:
            copy_s = fill(name, rows, predictor)
            print(f"COPY of {rows:,} predictions: {copy_s:.1f} s", file=sys.stderr)
            with tempfile.TemporaryDirectory(prefix="bench-monitoring-pg-") as out:
                window = ["--since", "7d", "--sample-size", str(args.sample_size)]
                results.append((rows, copy_s, run_job(url, args.bundle, Path(out), window=window)))
        finally:
            drop_database(name)

    print(f"\nDrift job on PostgreSQL (--since 7d, sample size {args.sample_size:,}), one process per run, CPU: {os.cpu_count()} cores\n")
    print(
        "| rows in the window | verdict (exit) | wall, whole command | read (cursor) | read sample | analyse | HTML + charts | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rows, _, r in results:
        t = r["summary"].get("timings_s", {})
        cells = [f"{rows:,}", f"{r['summary']['status']} ({r['exit']})", f"{r['wall']:.1f} s"]
        cells += [f"{t.get(k, 0):.1f} s" for k in ("read", "read_sample", "analyse", "html_and_charts")] + [f"{r['peak_mb']:.0f} MB"]
        print("| " + " | ".join(cells) + " |")
    big = [r for rows, _, r in results if rows >= 10_000_000]
    for r in big:
        ok = r["wall"] < 300 and r["peak_mb"] < 1024
        print(f"\n10M target (< 300 s and < 1024 MB): {'met' if ok else 'MISSED'} ({r['wall']:.0f} s, {r['peak_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
