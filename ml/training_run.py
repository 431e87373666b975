"""One training = one MLflow run: data -> tokenizer -> GloVe -> model -> metrics -> ONNX -> bundle.

`train(config) -> TrainResult` is the plain function; `python -m ml train` is its thin CLI. `_train` reads
as the list of steps (ml.training_steps, free of MLflow); the functions here log what each step returns.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from common.names import MODEL_NAME, NOTE_TAG, TRAINING_EXPERIMENT, tracking_uri
from ml import bundle as bundle_files
from ml import distributed
from ml import mlflow_inputs as inputs
from ml import training_steps as steps
from ml.corrections import data_sources
from ml.mlflow_setup import ensure_experiment, git_commit, quiet_mlflow_environment, use_tracking

DEFAULT_EPOCHS = {"cnn": 3, "baseline": 8}


@dataclass
class TrainConfig:
    data: Path
    corrections: Path | None = None  # the corrections data set mixed into `data` (ml.corrections), logged as an input
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
    spec_documents: int = 200  # held-out specification documents scanned with the exported bundle (0: none)
    device: str = "auto"
    progress: bool = True
    log_every: int = 10  # batch loss and accuracy logged every this many batches (0: per epoch only)
    run_name: str | None = None  # default: ml.mlflow_ui.training_run_name (e.g. cnn-d3f9a1-s42)
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


def train(config: TrainConfig) -> TrainResult | None:
    """Train, evaluate, export and log one model; MLflow's global URIs are left as they were.

    Under torchrun (WORLD_SIZE > 1) every rank trains its share; rank 0 returns the result, the others None.
    """
    quiet_mlflow_environment()
    if distributed.world_size() > 1:
        return _train_distributed(config)
    uri = tracking_uri(config.tracking_uri)
    with use_tracking(uri):
        return _train(config, uri)


def _train_distributed(config: TrainConfig) -> TrainResult | None:
    from functools import partial

    from ml.training_loop import seed_everything

    context, device = distributed.start(config.device)
    try:
        if context.is_main:
            uri = tracking_uri(config.tracking_uri)
            with use_tracking(uri):
                return _train(config, uri, context=context, device=device)
        seed_everything(config.seed)  # the other ranks: data and vectors as rank 0 has them, then their share of the fit
        data = steps.load_training_data(config.data, seed=config.seed, max_length=config.max_length)
        vectors = distributed.share(None, context)
        fit = partial(distributed.fit_distributed, context=context)
        steps.fit_model(
            config.model_type, data, vectors, fit_config=_fit_config(config, progress=False), device=device, on_epoch=None, fit=fit
        )
        return None
    finally:
        distributed.stop()


def _train(config: TrainConfig, tracking_uri: str, *, context: distributed.DistContext | None = None, device=None) -> TrainResult:
    import mlflow

    from ml.export import export_and_verify
    from ml.mlflow_ui import card_summary, training_run_name
    from ml.training_loop import pick_device, seed_everything

    started = time.perf_counter()
    seed_everything(config.seed)
    device = device or pick_device(config.device)
    data = steps.load_training_data(config.data, seed=config.seed, max_length=config.max_length)
    experiment_id = ensure_experiment(config.experiment, tracking_uri)
    commit = git_commit()
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    run_name = config.run_name or training_run_name(config.model_type, data.digest, config.seed)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, log_system_metrics=True) as run:
        run_id = run.info.run_id
        _log_run_setup(mlflow, config, data, commit=commit, device=device)
        vectors = steps.embeddings(
            data, glove=config.glove, dim=config.embedding_dim, epochs=config.glove_epochs, seed=config.seed, device=str(device)
        )
        if context is not None:
            mlflow.log_params({"world_size": context.world_size, "distributed_backend": context.backend})
            mlflow.set_tags({"world_size": str(context.world_size), "distributed_backend": context.backend})
            distributed.share(vectors, context)
        inputs.log_data_and_vectors(mlflow, Path(config.data), data.frame, vectors, corrections=config.corrections)
        model, history, calibration = _fit_logged(mlflow, config, data, vectors, device=device, context=context)
        evaluation = steps.evaluate_model(model, data, holdout_rows=config.holdout_rows, seed=config.seed + 1000)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            parity_ids = steps.parity_ids(data, config.parity_rows)
            parity = export_and_verify(model, tmp / bundle_files.MODEL_FILE, parity_ids, max_length=data.spec.max_length)
            metrics = {**evaluation.metrics, **calibration.metrics, "onnx_parity_max_abs_diff": parity}
            metrics |= {"train_seconds": time.perf_counter() - started, "best_epoch": history.best_epoch + 1}
            mlflow.log_metrics(metrics)
            for path in steps.write_evaluation_files(
                tmp, model_type=config.model_type, data=data, evaluation=evaluation, history=history, calibration=calibration
            ):
                mlflow.log_artifact(str(path), artifact_path="evaluation")
            reference = steps.reference_sample(model, data, rows=config.reference_rows, seed=config.seed)
            card = _model_card(
                config, data, metrics, run_id=run_id, experiment_id=experiment_id, commit=commit, device=device, glove=vectors.provenance
            )
            bundle_files.write_bundle(out, model_file=tmp / bundle_files.MODEL_FILE, spec=data.spec, card=card, reference=reference)
        metrics |= _log_documents(mlflow, config, out, card)
        mlflow.set_tag(NOTE_TAG, card_summary(bundle_files.read_card(out)))  # the run's description in the UI
        _log_bundle_and_models(mlflow, out, model, parity_ids, evaluation.test_probs)

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


def _log_documents(mlflow, config: TrainConfig, out: Path, card) -> dict:
    """Scan the held-out specification documents with the exported bundle; log the document metrics and add them
    to the bundle's card (ml.spec_quality)."""
    if config.spec_documents <= 0:
        return {}
    from dataclasses import replace

    from ml.documents.scorer import load_scorer
    from ml.spec_quality import evaluate_bundle_documents

    report = evaluate_bundle_documents(out, count=config.spec_documents, seed=config.seed + 4242)
    keys = ("component_accuracy", "components_found", "boilerplate_classified", "verdict_accuracy")
    metrics = {f"documents_{k}": float(report[k]) for k in keys}
    mlflow.log_metrics(metrics)
    mlflow.log_params({"spec_documents": report["documents"], "spec_components": report["components"]})
    mlflow.log_dict(report, "evaluation/documents.json")
    load_scorer(out).save(out / "segments.npz")  # the score the numbers were measured with travels in the bundle
    bundle_files.write_card(out, replace(card, metrics={**card.metrics, **{k: round(v, 6) for k, v in metrics.items()}}))
    print(
        f"[train] {report['documents']} held-out documents: component accuracy {metrics['documents_component_accuracy']:.4f}, "
        f"components found {metrics['documents_components_found']:.4f}, boilerplate classified {report['boilerplate_classified']}"
    )
    return metrics


def _log_run_setup(mlflow, config: TrainConfig, data: steps.TrainingData, *, commit: str, device) -> None:
    mlflow.set_tags(
        {"git_commit": commit, "data_digest": data.digest, "model_type": config.model_type, "device": device.type, **config.tags}
    )
    mlflow.log_params(
        {
            "model_type": config.model_type,
            "epochs": config.resolved_epochs,
            "seed": config.seed,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "max_length": config.max_length,
            "embedding_dim": config.embedding_dim,
            "vocab_size": data.spec.vocab_size,
            "train_rows": len(data.train),
            "val_rows": len(data.val),
            "test_rows": len(data.test),
            "device": str(device),
            "mixed_precision": device.type == "cuda",
            "glove_source": "file" if config.glove else "trained",
        }
    )
    print(f"[train] {len(data.frame)} rows ({data.digest[:12]}), vocabulary {data.spec.vocab_size}, device {device}")


def _fit_config(config: TrainConfig, *, progress: bool):
    from ml.training_loop import FitConfig

    return FitConfig(
        epochs=config.resolved_epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
        log_every=config.log_every,
    )


def _fit_logged(mlflow, config: TrainConfig, data: steps.TrainingData, vectors, *, device, context=None):
    """steps.fit_model with each epoch's metrics logged to the run and printed, and the batch metrics every
    config.log_every batches (step: batches since the start), across ranks under torchrun; then the temperature
    fitted on the validation split (ml.calibration; set on the model, so the ONNX export carries it).
    Returns (model, history, calibration)."""
    from ml.calibration import calibrate
    from ml.step_metrics import StepMetrics

    epochs = config.resolved_epochs
    batches = StepMetrics(mlflow.MlflowClient(), mlflow.active_run().info.run_id)

    def on_epoch(epoch: int, metrics: dict) -> None:
        mlflow.log_metrics(metrics, step=epoch)
        batches.flush()
        print(f"[train] epoch {epoch + 1}/{epochs}: loss {metrics['train_loss']:.4f}, val accuracy {metrics['val_accuracy']:.4f}")

    fit = None
    if context is not None:
        from functools import partial

        fit = partial(distributed.fit_distributed, context=context)
    fit_config = _fit_config(config, progress=config.progress)
    model, history = steps.fit_model(
        config.model_type, data, vectors, fit_config=fit_config, device=device, on_epoch=on_epoch, on_batch=batches.record, fit=fit
    )
    batches.flush()
    return model, history, calibrate(model, data.val_ids, data.y_val)


def _model_card(
    config: TrainConfig, data: steps.TrainingData, metrics: dict, *, run_id: str, experiment_id: str, commit: str, device, glove: dict
) -> bundle_files.ModelCard:
    return bundle_files.ModelCard(
        model_name=config.model_name,
        run_id=run_id,
        experiment_id=experiment_id,
        model_type=config.model_type,
        variable_length=config.model_type == "cnn",
        temperature=round(float(metrics["calibration_temperature"]), 6),
        metrics={k: round(float(v), 6) for k, v in metrics.items()},
        data_digest=data.digest,
        data_rows=len(data.frame),
        git_commit=commit,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        device=str(device),
        tokenizer_version=data.spec.version,
        glove=glove,
        params={"epochs": config.resolved_epochs, "seed": config.seed, "batch_size": config.batch_size, "lr": config.lr}
        | {"data_sources": data_sources(data.frame, config.data, config.corrections)},
    )


def _log_bundle_and_models(mlflow, out: Path, model, parity_ids: np.ndarray, test_probs: np.ndarray) -> None:
    """The bundle and its tokenizer as run artifacts, the PyTorch weights (state dict) for the gate, and both model
    flavors (ONNX for serving, PyTorch for people)."""
    import onnx
    from mlflow.models import infer_signature

    from ml.models import PYTORCH_WEIGHTS, STATE_DICT_FILE, save_weights

    mlflow.log_artifacts(str(out), artifact_path="bundle")
    mlflow.log_artifact(str(out / bundle_files.TOKENIZER_FILE), artifact_path="tokenizer")
    with tempfile.TemporaryDirectory() as tmp:  # the gate's parity check reads these weights, never the pickle below
        save_weights(model, Path(tmp) / STATE_DICT_FILE)
        mlflow.log_artifact(str(Path(tmp) / STATE_DICT_FILE), artifact_path=PYTORCH_WEIGHTS)
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
