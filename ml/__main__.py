"""`python -m ml generate|train|predict|evaluate|scan|segments|registry`: thin CLIs over plain functions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common.names import TRAINING_EXPERIMENT
from ml.mlflow_setup import quiet_mlflow_environment


def cmd_generate(args: argparse.Namespace) -> int:
    from ml.data import YearSpec, generate
    from ml.data.specs import training_frame

    years = YearSpec() if not args.all_years else YearSpec(exclude=frozenset())
    if args.style == "rich" and args.shapes == "train" and args.document_share > 0:
        frame = training_frame(args.rows, seed=args.seed, document_share=args.document_share, years=years)
    else:
        frame = generate(args.rows, seed=args.seed, style=args.style, shapes=args.shapes, years=years)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows ({frame['label'].mean():.1%} non-compliant) to {args.out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ml.training_run import TrainConfig, train

    config = TrainConfig(
        data=args.data,
        out=args.out,
        model_type=args.model,
        epochs=args.epochs,
        seed=args.seed,
        glove=args.glove,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        device=args.device,
        progress=not args.no_progress,
        **{name: getattr(args, name) for name in _TRAIN_SIZES if getattr(args, name) is not None},
    )
    train(config)
    return 0


# Sizes a small or quick training can shrink (TrainConfig fields; unset: its defaults).
_TRAIN_SIZES = (
    "batch_size",
    "embedding_dim",
    "glove_epochs",
    "holdout_rows",
    "reference_rows",
    "parity_rows",
    "spec_documents",
    "log_every",
)


def cmd_predict(args: argparse.Namespace) -> int:
    from ml.data import load_csv
    from ml.predictor import Predictor

    frame = load_csv(args.input, require_label=False)
    predictor = Predictor.from_bundle(args.bundle, threads=2)
    probs = predictor.predict_proba(frame["text"].tolist())
    frame["probability"] = probs.round(6)
    frame["label"] = (probs >= predictor.threshold).astype(int)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output, index=False)
    print(f"labelled {len(frame)} rows with model {predictor.model_name} {predictor.version} -> {args.output}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ml.data import load_csv
    from ml.evaluate import evaluate_bundle, format_report

    frame = load_csv(args.data)
    if args.sample and args.sample < len(frame):
        frame = frame.sample(args.sample, random_state=0).reset_index(drop=True)
    for column in ("year",):
        if column in frame.columns:
            frame[column] = frame[column].astype(int)
    metrics, slices = evaluate_bundle(args.bundle, frame)
    print(format_report(metrics, slices))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"metrics": metrics, "slices": slices}, indent=1))
    return 0


def _add_train_sizes(p: argparse.ArgumentParser) -> None:
    """The sizes a small or quick training can shrink (_TRAIN_SIZES)."""
    p.add_argument("--batch-size", type=int, help="global batch size, split over the ranks under torchrun (default 256)")
    p.add_argument("--embedding-dim", type=int, help="GloVe vector size (default 100)")
    p.add_argument("--glove-epochs", type=int, help="GloVe training epochs (default 150)")
    p.add_argument("--holdout-rows", type=int, help="rows per held-out evaluation set (default 2000)")
    p.add_argument("--reference-rows", type=int, help="rows of the bundle's drift reference sample (default 2000)")
    p.add_argument("--parity-rows", type=int, help="rows the ONNX/PyTorch parity check compares (default 1000)")
    p.add_argument("--spec-documents", type=int, help="held-out specification documents scanned after export (default 200; 0: none)")
    p.add_argument("--log-every", type=int, help="log the batch loss and accuracy every N batches (default 10; 0: per epoch only)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="generate synthetic labelled descriptions as CSV")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--style", choices=("rich", "reference"), default="rich")
    p.add_argument("--shapes", choices=("train", "holdout"), default="train", help="sentence shapes: training ones or the held-out ones")
    p.add_argument("--all-years", action="store_true", help="include the years held out of training")
    p.add_argument(
        "--document-share",
        type=float,
        default=0.25,
        help="share of document-style rows (table rows, list items, sentences; rich train only)",
    )
    p.add_argument("--out", type=Path, default=Path("data/components.csv"))
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="train a model, track it in MLflow and write the inference bundle")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", choices=("cnn", "baseline"), default="cnn")
    p.add_argument("--out", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--glove", type=Path, default=None, help="GloVe vectors in the standard text format (default: train them on the data)")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or var/mlflow/mlflow.db)")
    p.add_argument("--experiment", default=TRAINING_EXPERIMENT)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (under torchrun: one GPU per rank, NCCL; else gloo)")
    p.add_argument("--no-progress", action="store_true")
    _add_train_sizes(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="label a CSV with a text column")
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="evaluate a bundle on a labelled CSV")
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--sample", type=int, default=None, help="evaluate on a random sample of this many rows")
    p.add_argument("--json", type=Path, default=None, help="also write the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    from ml.scan_cli import add_scan_parser, add_segments_parser, add_specs_parser

    add_scan_parser(sub)
    add_segments_parser(sub)
    add_specs_parser(sub)

    try:
        from ml.registry.cli import add_registry_parser
    except ImportError:
        add_registry_parser = None
    if add_registry_parser is not None:
        add_registry_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_mlflow_environment()
    args = build_parser().parse_args(argv)
    from ml.bundle import BundleError
    from ml.data import DataError
    from ml.glove import GloveError

    try:
        return int(args.func(args) or 0)
    except (DataError, BundleError, GloveError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
