"""One training = one MLflow run: data -> tokenizer -> GloVe -> model -> metrics -> ONNX -> bundle.

`train(config) -> TrainResult` is the plain function; `python -m ml train` is its thin CLI.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from common.names import MODEL_NAME, TRAINING_EXPERIMENT, tracking_uri
from ml import bundle as bundle_files
from ml.data import data_digest, held_out_sets, load_csv, split
from ml.mlflow_setup import (
    ensure_experiment,
    git_commit,
    quiet_mlflow_environment,
    use_tracking,
)
from ml.text import build_spec, encode_batch

DEFAULT_EPOCHS = {"cnn": 3, "baseline": 8}


@dataclass
class TrainConfig:
    data: Path
    out: Path = Path("artifacts/bundle")
    model_type: str = "cnn"
    epochs: int | None = None
    seed: int = 7
    batch_size: int = 256
    lr: float = 2e-3
    max_length: int = 48
    embedding_dim: int = 100
    glove: Path | None = None
    glove_epochs: int = 150
    tracking_uri: str | None = None
    experiment: str = TRAINING_EXPERIMENT
    model_name: str = MODEL_NAME
    holdout_rows: int = 2000
    reference_rows: int = 2000
    parity_rows: int = 1000
    device: str = "auto"
    progress: bool = True
    run_name: str | None = None
    tags: dict = field(default_factory=dict)

    @property
    def resolved_epochs(self) -> int:
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS.get(self.model_type, 4)


@dataclass
class TrainResult:
    run_id: str
    experiment_id: str
    tracking_uri: str
    bundle_dir: Path
    model_type: str
    device: str
    seconds: float
    metrics: dict
    config: TrainConfig


def _log_datasets(mlflow, frame: pd.DataFrame, source: Path, glove_matrix: np.ndarray, glove_provenance: dict) -> None:
    dataset = mlflow.data.from_pandas(frame[["text", "label"]], source=str(source.resolve()), name=source.name, targets="label")
    mlflow.log_input(dataset, context="training")
    glove_name = Path(glove_provenance["path"]).name if glove_provenance.get("path") else "glove-trained-on-corpus"
    vectors = mlflow.data.from_numpy(glove_matrix, source=glove_provenance.get("path") or "trained-on-training-corpus", name=glove_name)
    mlflow.log_input(vectors, context="embeddings")


def train(config: TrainConfig) -> TrainResult:
    """Train, evaluate, export and log one model; MLflow's global URIs are left as they were."""
    quiet_mlflow_environment()
    uri = tracking_uri(config.tracking_uri)
    with use_tracking(uri):
        return _train(config, uri)


def _train(config: TrainConfig, tracking_uri: str) -> TrainResult:
    import mlflow
    import onnx
    import torch

    from ml.evaluate import classification_metrics, classification_report_text, slice_accuracy
    from ml.export import export_and_verify
    from ml.glove import load_glove_text, train_glove_on_corpus
    from ml.models import build_model
    from ml.plots import plot_confusion_matrix, plot_roc, plot_training_curves
    from ml.training_loop import FitConfig, fit, pick_device, predict_proba, seed_everything

    started = time.perf_counter()
    seed_everything(config.seed)
    device = pick_device(config.device)
    frame = load_csv(config.data)
    digest = data_digest(frame)
    train_df, val_df, test_df = split(frame, seed=config.seed)
    spec = build_spec(train_df["text"], max_length=config.max_length)
    train_ids, val_ids, test_ids = (encode_batch(d["text"].tolist(), spec) for d in (train_df, val_df, test_df))
    y_train, y_val, y_test = (d["label"].to_numpy().astype(np.float32) for d in (train_df, val_df, test_df))

    experiment_id = ensure_experiment(config.experiment, tracking_uri)
    commit = git_commit()
    epochs = config.resolved_epochs
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    with mlflow.start_run(experiment_id=experiment_id, run_name=config.run_name, log_system_metrics=True) as run:
        run_id = run.info.run_id
        mlflow.set_tags(
            {"git_commit": commit, "data_digest": digest, "model_type": config.model_type, "device": device.type, **config.tags}
        )
        mlflow.log_params(
            {
                "model_type": config.model_type,
                "epochs": epochs,
                "seed": config.seed,
                "batch_size": config.batch_size,
                "lr": config.lr,
                "max_length": config.max_length,
                "embedding_dim": config.embedding_dim,
                "vocab_size": spec.vocab_size,
                "train_rows": len(train_df),
                "val_rows": len(val_df),
                "test_rows": len(test_df),
                "device": str(device),
                "mixed_precision": device.type == "cuda",
                "glove_source": "file" if config.glove else "trained",
            }
        )
        print(f"[train] {len(frame)} rows ({digest[:12]}), vocabulary {spec.vocab_size}, device {device}")

        if config.glove:
            vectors = load_glove_text(config.glove, spec, seed=config.seed)
        else:
            vectors = train_glove_on_corpus(
                train_ids, spec, dim=config.embedding_dim, epochs=config.glove_epochs, seed=config.seed, device=str(device)
            )
        mlflow.log_dict(vectors.provenance, "glove/provenance.json")
        mlflow.log_params({f"glove_{k}": v for k, v in vectors.provenance.items() if k in ("dim", "coverage", "epochs", "sha256")})
        _log_datasets(mlflow, frame, Path(config.data), vectors.matrix, vectors.provenance)

        model = build_model(config.model_type, embeddings=torch.as_tensor(vectors.matrix), spec=spec)
        fit_cfg = FitConfig(epochs=epochs, batch_size=config.batch_size, lr=config.lr, seed=config.seed, progress=config.progress)

        def on_epoch(epoch: int, metrics: dict) -> None:
            mlflow.log_metrics(metrics, step=epoch)
            print(f"[train] epoch {epoch + 1}/{epochs}: loss {metrics['train_loss']:.4f}, val accuracy {metrics['val_accuracy']:.4f}")

        history = fit(model, train_ids, y_train, val_ids, y_val, config=fit_cfg, device=device, on_epoch=on_epoch)
        model = model.to("cpu").eval()
        cpu = torch.device("cpu")

        test_probs = predict_proba(model, test_ids, device=cpu)
        test_metrics = classification_metrics(y_test, test_probs)
        metrics = {f"test_{k}": v for k, v in test_metrics.items() if k not in ("confusion_matrix", "rows")}
        evaluation_sets = {"test": (test_df, test_probs)}
        for name, held in held_out_sets(config.holdout_rows, seed=config.seed + 1000).items():
            probs = predict_proba(model, encode_batch(held["text"].tolist(), spec), device=cpu)
            metrics[f"{name}_accuracy"] = classification_metrics(held["label"].to_numpy(), probs)["accuracy"]
            evaluation_sets[name] = (held, probs)

        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            parity_ids = (
                test_ids[: config.parity_rows]
                if len(test_ids) >= config.parity_rows
                else np.vstack([test_ids, train_ids])[: config.parity_rows]
            )
            parity = export_and_verify(model, tmp / "model.onnx", parity_ids, max_length=spec.max_length)
            metrics["onnx_parity_max_abs_diff"] = parity
            metrics["train_seconds"] = time.perf_counter() - started
            mlflow.log_metrics(metrics)

            plot_confusion_matrix(test_metrics["confusion_matrix"], tmp / "confusion_matrix.png", title=f"{config.model_type}: test set")
            plot_roc(y_test, test_probs, tmp / "roc_curve.png", title=f"{config.model_type}: test ROC")
            plot_training_curves(history.train_loss, history.val_accuracy, tmp / "training_curves.png")
            report = classification_report_text(y_test.astype(int), test_probs)
            (tmp / "classification_report.txt").write_text(report)
            slices = {name: slice_accuracy(df, probs) for name, (df, probs) in evaluation_sets.items()}
            (tmp / "slices.json").write_text(json.dumps(slices, indent=1))
            for name in ("confusion_matrix.png", "roc_curve.png", "training_curves.png", "classification_report.txt", "slices.json"):
                mlflow.log_artifact(str(tmp / name), artifact_path="evaluation")

            reference = train_df.sample(min(config.reference_rows, len(train_df)), random_state=config.seed)[["text", "label"]].copy()
            reference["probability"] = predict_proba(model, encode_batch(reference["text"].tolist(), spec), device=cpu)
            card = bundle_files.ModelCard(
                model_name=config.model_name,
                run_id=run_id,
                experiment_id=experiment_id,
                model_type=config.model_type,
                variable_length=config.model_type == "cnn",
                metrics={k: round(float(v), 6) for k, v in metrics.items()},
                data_digest=digest,
                data_rows=len(frame),
                git_commit=commit,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                device=str(device),
                tokenizer_version=spec.version,
                glove=vectors.provenance,
                params={"epochs": epochs, "seed": config.seed, "batch_size": config.batch_size, "lr": config.lr},
            )
            bundle_files.write_bundle(out, model_file=tmp / "model.onnx", spec=spec, card=card, reference=reference)
            mlflow.log_artifacts(str(out), artifact_path="bundle")
            mlflow.log_artifact(str(out / bundle_files.TOKENIZER_FILE), artifact_path="tokenizer")

            from mlflow.models import infer_signature

            signature = infer_signature(parity_ids[:4], test_probs[:4] if len(test_probs) >= 4 else np.zeros(4, dtype=np.float32))
            mlflow.onnx.log_model(
                onnx.load(str(out / bundle_files.MODEL_FILE)), name="onnx_model", signature=signature, save_as_external_data=False
            )
            mlflow.pytorch.log_model(
                model,
                name="pytorch_model",
                signature=signature,
                serialization_format="pickle",  # pt2 would pin the batch size to the example's
                code_paths=[str(Path(__file__).resolve().parent)],
                pip_requirements=["torch==2.13.0", "numpy"],
            )

    seconds = time.perf_counter() - started
    print(f"[train] done in {seconds:.1f}s: test accuracy {metrics['test_accuracy']:.4f}")
    print(f"run_id: {run_id}")
    print(f"bundle: {out.resolve()}")
    return TrainResult(
        run_id=run_id,
        experiment_id=experiment_id,
        tracking_uri=tracking_uri,
        bundle_dir=out,
        model_type=config.model_type,
        device=str(device),
        seconds=seconds,
        metrics=metrics,
        config=config,
    )
