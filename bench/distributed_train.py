"""Training throughput of one process vs torchrun with 2 (or more) processes, same data, seed and global batch.

    python bench/distributed_train.py [--rows 20000] [--epochs 3] [--procs 1 2] [--device cpu|cuda]

Each run is a real `python -m ml train` (one process) or `torchrun --standalone --nproc-per-node N -m ml train`
logged to a throwaway SQLite tracking store; samples/s is the training split's rows over each epoch's
`epoch_seconds` (the fit alone: no GloVe, evaluation or export), the median over epochs. On CPU the ranks share
the machine's cores (gloo; N processes of cores/N threads each, so every run has the same cores); on a GPU
machine each rank gets one GPU (NCCL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the project's packages first

from common.paths import PROJECT_ROOT


def run(procs: int, *, data: Path, folder: Path, epochs: int, device: str, batch_size: int) -> dict:
    import mlflow

    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    experiment = f"bench-{procs}"
    args = ["-m", "ml", "train", "--data", str(data), "--out", str(folder / f"bundle-{procs}"), "--epochs", str(epochs)]
    args += ["--batch-size", str(batch_size), "--experiment", experiment, "--no-progress", "--device", device, "--tracking-uri", tracking]
    launcher = (
        [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs)]
    )
    started = time.perf_counter()
    # The same cores for every run: N processes of cores/N threads each (torchrun would give each just one).
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // procs))}
    done = subprocess.run([*launcher, *args], cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{procs} process(es) failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    client = mlflow.MlflowClient(tracking_uri=tracking)
    (found,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    rows = int(found.data.params["train_rows"])
    seconds = [m.value for m in client.get_metric_history(found.info.run_id, "epoch_seconds")]
    return {
        "procs": procs,
        "backend": found.data.params.get("distributed_backend", "-"),
        "samples_per_s": rows / statistics.median(seconds),
        "epoch_s": statistics.median(seconds),
        "test_accuracy": found.data.metrics["test_accuracy"],
        "wall": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    from ml.data import generate

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as tmp:
        folder = Path(tmp)
        data = folder / "components.csv"
        generate(args.rows, seed=7).to_csv(data, index=False)
        for procs in args.procs:
            results.append(run(procs, data=data, folder=folder, epochs=args.epochs, device=args.device, batch_size=args.batch_size))
            print(f"{procs} process(es) done in {results[-1]['wall']:.1f} s", file=sys.stderr)
    base = results[0]["samples_per_s"]
    setup = f"{args.rows:,} rows, {args.epochs} epochs, global batch {args.batch_size}, {args.device}, {os.cpu_count()} cores"
    print(f"\nTraining throughput, {setup}\n")
    print("| processes | backend | samples/s (median epoch) | vs 1 process | epoch | test accuracy | wall, whole command |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        cells = [str(r["procs"]), r["backend"], f"{r['samples_per_s']:,.0f}", f"{r['samples_per_s'] / base:.2f}x", f"{r['epoch_s']:.2f} s"]
        cells += [f"{r['test_accuracy']:.4f}", f"{r['wall']:.1f} s"]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
