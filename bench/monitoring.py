"""The drift job over 100,000 logged predictions: wall time and peak memory, as an operator runs it.

    python bench/monitoring.py [--bundle artifacts/bundle] [--rows 100000]

Builds a throwaway SQLite portal database (the portal's real migrations), logs `rows` predictions scored by the bundle's model, then runs
`python -m monitoring drift --last ROWS` in a fresh process, twice: a window like the training data and a
shifted one (sentence shapes never trained on, old years, unseen materials). Target (docs/architecture.md, targets):
under 60 s on this 2-core machine. Peak memory is the job process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

# This script is bench/monitoring.py: with only its own folder on sys.path, `import monitoring` would find it
# instead of the package, so the project root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import PROJECT_ROOT


def make_database(path: Path) -> str:
    """A fresh SQLite portal database made by the portal's own migrations."""
    url = f"sqlite:///{path}"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": url, "PORTAL_VAR_DIR": str(path.parent / "var")}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{done.stderr[-2000:]}")
    return url


def window(rows: int, *, shifted: bool, seed: int):
    from ml.data import YearSpec, generate

    if not shifted:
        return generate(rows, seed=seed)
    frame = generate(rows, seed=seed, shapes="holdout", years=YearSpec(ranges=((1800, 1980),), exclude=frozenset()), positive_share=0.8)
    rng = np.random.default_rng(seed)
    swap = rng.random(rows) < 0.3
    frame.loc[swap, "text"] = [
        f"{w} {t}" for w, t in zip(rng.choice(["aluminium", "titanium"], int(swap.sum())), frame.loc[swap, "text"], strict=True)
    ]
    return frame


def log_predictions(url: str, frame, predictor) -> None:
    import sqlalchemy as sa

    from monitoring.db import normalize_url
    from webportal.portal.log_schema import PREDICTION_TABLE

    probs = predictor.predict_proba(frame["text"].tolist())
    end = datetime.now(UTC)
    rng = np.random.default_rng(0)
    rows = [
        {
            "text": t,
            "probability": float(p),
            "label": int(p >= 0.5),
            "model_name": predictor.model_name,
            "model_version": predictor.version,
            "latency_ms": float(rng.gamma(2.0, 1.5)),
            "source": "api",
            "created_at": str((end - timedelta(seconds=len(frame) - i)).replace(tzinfo=None)),
        }
        for i, (t, p) in enumerate(zip(frame["text"], probs, strict=True))
    ]
    engine = sa.create_engine(normalize_url(url))
    table = sa.table(PREDICTION_TABLE, *(sa.column(c) for c in rows[0]))
    with engine.begin() as conn:
        conn.execute(sa.delete(table))
        conn.execute(sa.insert(table), rows)
    engine.dispose()


_WRAPPER = """
import resource, runpy, sys
sys.argv = ["monitoring", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("monitoring", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run_job(url: str, bundle: Path, out: Path, rows: int | None = None, *, window: list[str] | None = None) -> dict:
    """`python -m monitoring drift` in a fresh process: wall time and that process's own peak RSS."""
    window = window or ["--last", str(rows)]
    args = ["drift", *window, "--database-url", url, "--bundle", str(bundle), "--out", str(out), "-q"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": "", "ALERT_WEBHOOK_URL": ""},
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"drift job failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    peak_kb = int(next(line.split()[1] for line in done.stderr.splitlines() if line.startswith("MAXRSS_KB")))
    summary = json.loads(sorted(out.glob("drift-*.json"))[-1].read_text())
    return {"exit": done.returncode, "wall": wall, "peak_mb": peak_kb / 1024, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=PROJECT_ROOT / "artifacts" / "bundle")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(args.bundle)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        tmp = Path(tmp)
        url = make_database(tmp / "portal.sqlite3")
        for name, shifted, seed in (("generator today", False, 101), ("shifted", True, 202)):
            t0 = time.perf_counter()
            log_predictions(url, window(args.rows, shifted=shifted, seed=seed), predictor)
            print(f"logged {args.rows} {name} predictions in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            out = tmp / f"reports-{name}"
            results.append((name, run_job(url, args.bundle, out, args.rows)))

    print(
        f"\nDrift job over {args.rows:,} logged predictions (reference: {args.bundle}), one process per run, CPU: {os.cpu_count()} cores\n"
    )
    print("| window | verdict (exit) | wall, whole command | read | analyse (Evidently + features) | HTML + charts | peak RSS | target |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results:
        t = r["summary"].get("timings_s", {})
        peak = f"{r['peak_mb']:.0f} MB"
        ok = "ok" if r["wall"] < 60 else "MISSED"
        cells = [name, f"{r['summary']['status']} ({r['exit']})", f"{r['wall']:.1f} s"]
        cells += [f"{t.get(k, 0):.1f} s" for k in ("read", "analyse", "html_and_charts")] + [peak, f"< 60 s: {ok}"]
        print("| " + " | ".join(cells) + " |")
    for name, r in results:
        print(f"\n{name}: {r['summary']['headline']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
