"""ONNX Runtime vs PyTorch eager on the same trained model, side by side in one run.

    python bench/inference.py [--bundle artifacts/bundle] [--tracking-uri URI]

Batch 1: median latency; batch 1024: rows/s; tokenizer cost per row. Same thread count for both
engines in each row. Targets (docs/architecture.md, targets): ONNX >= 3x faster at batch 1, not slower at 1024.
Then the evidence (Predictor.explain, occlusion in one ONNX Runtime call) beside plain predict, from raw text:
target under 2 ms per text at batch 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from ml.bundle import ModelCard


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def load_torch_model(card: ModelCard, tracking_uri: str | None):
    from common.names import tracking_uri as default_tracking_uri
    from ml.mlflow_setup import quiet_mlflow_environment

    quiet_mlflow_environment()
    import mlflow
    import mlflow.pytorch

    mlflow.set_tracking_uri(tracking_uri or default_tracking_uri())
    logged = mlflow.search_logged_models(experiment_ids=[card.experiment_id], output_format="list")
    uri = next(m.model_uri for m in logged if m.source_run_id == card.run_id and m.name == "pytorch_model")
    return mlflow.pytorch.load_model(uri).eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    import torch

    from ml.data import generate
    from ml.predictor import Predictor
    from ml.text import encode_batch

    texts = generate(1024, seed=99)["text"].tolist()
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        predictor = Predictor.from_bundle(args.bundle, threads=threads)
        model = load_torch_model(predictor.card, args.tracking_uri)
        # Both engines get exactly what the Predictor feeds ONNX Runtime: ids cut after the longest text.
        one = predictor.trim(predictor.encode(texts[:1]))
        many = predictor.trim(predictor.encode(texts))
        with torch.inference_mode():
            torch_one = timed(lambda m=model, x=one: m(torch.as_tensor(x)), args.repeats)
            torch_many = timed(lambda m=model, x=many: m(torch.as_tensor(x)), 10)
        onnx_one = timed(lambda p=predictor, x=one: p.predict_ids(x), args.repeats)
        onnx_many = timed(lambda p=predictor, x=many: p.predict_ids(x), 10)
        t1, o1 = statistics.median(torch_one), statistics.median(onnx_one)
        tm, om = 1024 / statistics.median(torch_many), 1024 / statistics.median(onnx_many)
        rows.append((f"batch 1 median latency ({threads} thr)", f"{t1 * 1e3:.3f} ms", f"{o1 * 1e3:.3f} ms", t1 / o1, ">= 3x"))
        rows.append((f"batch 1024 throughput ({threads} thr)", f"{tm:,.0f} rows/s", f"{om:,.0f} rows/s", om / tm, ">= 1x"))
    tok = statistics.median(timed(lambda: encode_batch(texts, predictor.spec), 10)) / len(texts)
    card, spec = predictor.card, predictor.spec
    print(f"\nmodel: {card.model_type} run {card.run_id}, vocabulary {spec.vocab_size}, max length {spec.max_length}")
    print(f"tokenizer cost: {tok * 1e6:.1f} us per row (shared by both engines)\n")
    header = f"| {'measure':<34} | {'PyTorch eager':>15} | {'ONNX Runtime':>15} | {'ONNX / PyTorch':>14} | {'target':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(c) + 0) for c in header.split("|")[1:-1]) + "|")
    for name, torch_v, onnx_v, ratio, target in rows:
        print(f"| {name:<34} | {torch_v:>15} | {onnx_v:>15} | {ratio:>13.1f}x | {target:>7} |")
    evidence_table(predictor, texts, args.repeats)
    return 0


def evidence_table(predictor, texts: list[str], repeats: int) -> None:
    """Raw text in: predict_proba vs explain (the evidence), median per text at batch 1 over different texts, and
    per text in a batch of 256."""
    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(predictor.path, threads=1)
    one = [[t] for t in texts[:repeats]]
    plain = statistics.median(timed(lambda it=iter(one * 2): predictor.predict_proba(next(it)), len(one) - 1))
    why = statistics.median(timed(lambda it=iter(one * 2): predictor.explain(next(it)), len(one) - 1))
    batch = texts[:256]
    plain_b = statistics.median(timed(lambda: predictor.predict_proba(batch), 10)) / len(batch)
    why_b = statistics.median(timed(lambda: predictor.explain(batch), 10)) / len(batch)
    print("\n| evidence (1 thread, raw text in)   | predict_proba | explain (evidence) | ratio | target  |")
    print("|------------------------------------|---------------|--------------------|-------|---------|")
    print(f"| batch 1, median per text           | {plain * 1e3:>10.3f} ms | {why * 1e3:>15.3f} ms | {why / plain:>4.1f}x | < 2 ms  |")
    print(
        f"| batch 256, per text                | {plain_b * 1e3:>10.3f} ms | {why_b * 1e3:>15.3f} ms | {why_b / plain_b:>4.1f}x |         |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
