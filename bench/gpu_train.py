"""Training on CUDA vs CPU with the same code path (GloVe + CNN fit), without MLflow.

    python bench/gpu_train.py [--rows 100000] [--epochs 3] [--json out.json]

Proves the GPU path really runs on CUDA (parameters and batches on the device, bf16 autocast) and
times each stage on each available device. On a machine without CUDA it times the CPU only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_on(device_name: str, rows: int, epochs: int | None, seed: int = 7, *, model_type: str = "cnn", style: str = "rich") -> dict:
    import torch

    from ml.data import generate, split
    from ml.glove import train_glove_on_corpus
    from ml.models import build_model
    from ml.text import build_spec, encode_batch
    from ml.training_loop import FitConfig, fit

    device = torch.device(device_name)
    timings = {}
    start = time.perf_counter()
    from ml.training_run import DEFAULT_EPOCHS

    epochs = epochs or DEFAULT_EPOCHS[model_type]
    frame = generate(rows, seed=seed, style=style)
    train_df, val_df, test_df = split(frame, seed=seed)
    spec = build_spec(train_df["text"], max_length=48)
    ids = {name: encode_batch(df["text"].tolist(), spec) for name, df in (("train", train_df), ("val", val_df), ("test", test_df))}
    timings["data_and_tokenize_s"] = time.perf_counter() - start

    start = time.perf_counter()
    vectors = train_glove_on_corpus(ids["train"], spec, dim=100, epochs=150, seed=seed, device=device_name)
    if device.type == "cuda":
        torch.cuda.synchronize()
    timings["glove_s"] = time.perf_counter() - start

    model = build_model(model_type, embeddings=torch.as_tensor(vectors.matrix), spec=spec)
    start = time.perf_counter()
    history = fit(
        model,
        ids["train"],
        train_df["label"].to_numpy().astype("float32"),
        ids["val"],
        val_df["label"].to_numpy(),
        config=FitConfig(epochs=epochs, seed=seed, progress=False),
        device=device,
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    timings["fit_s"] = time.perf_counter() - start
    param_devices = sorted({str(p.device) for p in model.parameters()})
    accuracy = accuracies(model, spec, ids["test"], test_df["label"].to_numpy(), seed=seed, device=device)
    return {
        "model_type": model_type,
        "style": style,
        "epochs": epochs,
        "device": device_name,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "parameter_devices": param_devices,
        "mixed_precision_bf16": history.mixed_precision,
        "epoch_seconds": [round(s, 3) for s in history.epoch_seconds],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "accuracy": accuracy,
        "torch": torch.__version__,
    }


def accuracies(model, spec, test_ids, test_labels, *, seed: int, device) -> dict[str, float]:
    """Accuracy on the test split, fresh rich data and the held-out families."""
    from ml.data import generate, held_out_sets
    from ml.text import encode_batch
    from ml.training_loop import predict_proba

    accuracy = {"test": float(((predict_proba(model, test_ids, device=device) >= 0.5) == test_labels).mean())}
    held_sets = {"rich_test": generate(2000, seed=seed + 999), **held_out_sets(2000, seed=seed + 1000)}
    for name, held in held_sets.items():
        probs = predict_proba(model, encode_batch(held["text"].tolist(), spec), device=device)
        accuracy[name] = float(((probs >= 0.5) == held["label"].to_numpy()).mean())
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model type's default")
    parser.add_argument("--matrix", action="store_true", help="cnn and baseline x rich and reference data, on the first device")
    parser.add_argument("--devices", default="auto", help="comma list (cpu,cuda) or auto")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    if args.devices != "auto":
        devices = args.devices.split(",")
    if args.matrix:
        combos = [(m, st) for m in ("cnn", "baseline") for st in ("rich", "reference")]
        results = [run_on(devices[0], args.rows, args.epochs, model_type=m, style=st) for m, st in combos]
    else:
        results = [run_on(d, args.rows, args.epochs) for d in devices]
    sets = ["test", "rich_test", "holdout_shapes", "holdout_years", "out_of_range_years"]
    print("| model | trained on | device | epochs | fit s | s/epoch | " + " | ".join(sets) + " |")
    print("|" + "---|" * (6 + len(sets)))
    for r in results:
        per_epoch = sum(r["epoch_seconds"]) / len(r["epoch_seconds"])
        accs = " | ".join(f"{r['accuracy'][k]:.4f}" for k in sets)
        head = f"| {r['model_type']} | {r['style']} | {r['device_name']} | {r['epochs']}"
        print(f"{head} | {r['timings']['fit_s']:.1f} | {per_epoch:.2f} | {accs} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
