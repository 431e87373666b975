"""The steps of one training, as plain functions with explicit inputs and outputs and no MLflow.

`ml.training_run` calls them in order inside an MLflow run and logs what they return.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.data import data_digest, held_out_sets, load_csv, split
from ml.data.real_text import real_text_sets
from ml.text import TokenizerSpec, build_spec, encode_batch

# Every word of the training texts is in the vocabulary (a higher count makes the model learn <unk> as "a year
# follows", and occlusion by <unk>, ml.evidence, then stops naming years as evidence).
MIN_COUNT = 1
EVALUATION_FILES = (
    "confusion_matrix.png",
    "roc_curve.png",
    "training_curves.png",
    "reliability.png",
    "classification_report.txt",
    "slices.json",
)


@dataclass(frozen=True)
class TrainingData:
    """The loaded CSV, its split, the tokenizer fitted on the training part and every part's ids and labels."""

    frame: pd.DataFrame
    digest: str
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    spec: TokenizerSpec
    train_ids: np.ndarray
    val_ids: np.ndarray
    test_ids: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    metrics: dict  # test_* metrics and each held-out set's accuracy
    test: dict  # classification_metrics on the test set, with its confusion matrix
    test_probs: np.ndarray
    sets: dict  # name -> (frame, probabilities): the test set and the held-out sets


def load_training_data(path: Path, *, seed: int, max_length: int) -> TrainingData:
    """Load the CSV, split it, fit the tokenizer on the training part and encode every part."""
    frame = load_csv(path)
    digest = data_digest(frame)
    train_df, val_df, test_df = split_keeping_corrections_in_training(frame, seed=seed)
    spec = build_spec(train_df["text"], max_length=max_length, min_count=MIN_COUNT)
    train_ids, val_ids, test_ids = (encode_batch(d["text"].tolist(), spec) for d in (train_df, val_df, test_df))
    y_train, y_val, y_test = (d["label"].to_numpy().astype(np.float32) for d in (train_df, val_df, test_df))
    return TrainingData(frame, digest, train_df, val_df, test_df, spec, train_ids, val_ids, test_ids, y_train, y_val, y_test)


def split_keeping_corrections_in_training(frame: pd.DataFrame, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the generated (or user) rows; reviewers' corrections (ml.corrections, repeated `weight` times) all go to
    training: a copy in the validation or test split would score the model on a text it trained on."""
    from ml.corrections import CONTEXT, SOURCE_COLUMN

    if SOURCE_COLUMN not in frame.columns:
        return split(frame, seed=seed)
    corrections = frame[SOURCE_COLUMN] == CONTEXT
    train_df, val_df, test_df = split(frame[~corrections], seed=seed)
    return pd.concat([train_df, frame[corrections]], ignore_index=True), val_df, test_df


def embeddings(data: TrainingData, *, glove: Path | None, dim: int, epochs: int, seed: int, device: str):
    """GloVe vectors for the vocabulary: the user's file when given, else trained on the training ids."""
    from ml.glove import load_glove_text, train_glove_on_corpus

    if glove:
        return load_glove_text(glove, data.spec, seed=seed)
    return train_glove_on_corpus(data.train_ids, data.spec, dim=dim, epochs=epochs, seed=seed, device=device)


def fit_model(
    model_type: str,
    data: TrainingData,
    vectors,
    *,
    fit_config,
    device,
    on_epoch: Callable[[int, dict], None] | None,
    on_batch: Callable[[int, dict], None] | None = None,
    fit=None,
):
    """Build the model on the vectors and fit it (ml.training_loop.fit, or `fit` with the same signature, e.g.
    ml.distributed.fit_distributed); returns (the model on the CPU in eval mode, its history)."""
    import torch

    from ml.models import build_model
    from ml.training_loop import fit as fit_one_process

    model = build_model(model_type, embeddings=torch.as_tensor(vectors.matrix), spec=data.spec)
    fit = fit or fit_one_process
    history = fit(
        model,
        data.train_ids,
        data.y_train,
        data.val_ids,
        data.y_val,
        config=fit_config,
        device=device,
        on_epoch=on_epoch,
        on_batch=on_batch,
    )
    return model.to("cpu").eval(), history


def evaluate_model(model, data: TrainingData, *, holdout_rows: int, seed: int) -> Evaluation:
    """Test-set metrics and the accuracy on each held-out set: unseen shapes, unseen years, years out of range
    (ml.data.held_out_sets, the gate's frozen holdout too) and the real-text families (ml.data.real_text)."""
    import torch

    from ml.calibration import expected_calibration_error
    from ml.evaluate import classification_metrics
    from ml.training_loop import predict_proba

    cpu = torch.device("cpu")
    test_probs = predict_proba(model, data.test_ids, device=cpu)
    test_metrics = classification_metrics(data.y_test, test_probs)
    metrics = {f"test_{k}": v for k, v in test_metrics.items() if k not in ("confusion_matrix", "rows")}
    metrics["test_ece"] = expected_calibration_error(data.y_test, test_probs)
    sets = {"test": (data.test, test_probs)}
    held_out = {**held_out_sets(holdout_rows, seed=seed), **real_text_sets(holdout_rows, seed=seed + 101)}
    for name, held in held_out.items():
        probs = predict_proba(model, encode_batch(held["text"].tolist(), data.spec), device=cpu)
        metrics[f"{name}_accuracy"] = classification_metrics(held["label"].to_numpy(), probs)["accuracy"]
        sets[name] = (held, probs)
    return Evaluation(metrics=metrics, test=test_metrics, test_probs=test_probs, sets=sets)


def parity_ids(data: TrainingData, rows: int) -> np.ndarray:
    """The ids ONNX and PyTorch must agree on: test rows, topped up with training rows when the test set is small."""
    if len(data.test_ids) >= rows:
        return data.test_ids[:rows]
    return np.vstack([data.test_ids, data.train_ids])[:rows]


def write_evaluation_files(
    folder: Path, *, model_type: str, data: TrainingData, evaluation: Evaluation, history, calibration
) -> list[Path]:
    """Plots (the reliability diagram from the validation split's calibration), the classification report and the
    per-slice accuracies (EVALUATION_FILES) in `folder`."""
    from ml.evaluate import classification_report_text, slice_accuracy
    from ml.plots import plot_confusion_matrix, plot_reliability, plot_roc, plot_training_curves

    plot_confusion_matrix(evaluation.test["confusion_matrix"], folder / "confusion_matrix.png", title=f"{model_type}: test set")
    plot_roc(data.y_test, evaluation.test_probs, folder / "roc_curve.png", title=f"{model_type}: test ROC")
    plot_training_curves(history.train_loss, history.val_accuracy, folder / "training_curves.png")
    before, after = calibration.probabilities(calibrated=False), calibration.probabilities()
    plot_reliability(calibration.val_labels, before, after, folder / "reliability.png", title=f"{model_type}: validation reliability")
    (folder / "classification_report.txt").write_text(classification_report_text(data.y_test.astype(int), evaluation.test_probs))
    slices = {name: slice_accuracy(df, probs) for name, (df, probs) in evaluation.sets.items()}
    (folder / "slices.json").write_text(json.dumps(slices, indent=1))
    return [folder / name for name in EVALUATION_FILES]


def reference_sample(model, data: TrainingData, *, rows: int, seed: int) -> pd.DataFrame:
    """Training rows with the model's probabilities: monitoring's side of the drift comparison."""
    import torch

    from ml.training_loop import predict_proba

    reference = data.train.sample(min(rows, len(data.train)), random_state=seed)[["text", "label"]].copy()
    reference["probability"] = predict_proba(model, encode_batch(reference["text"].tolist(), data.spec), device=torch.device("cpu"))
    return reference
