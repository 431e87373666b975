"""Metrics for a set of predictions: accuracy, precision, recall, F1, ROC AUC, confusion matrix, slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.data import TRAIN_YEARS
from ml.domain import CUTOFF_YEAR


def classification_metrics(labels: np.ndarray, probs: np.ndarray, *, threshold: float = 0.5) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    preds = (np.asarray(probs) >= threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    return {
        "rows": len(labels),
        "accuracy": float(accuracy_score(labels, preds)),
        "precision": float(precision_score(labels, preds, zero_division=0)),
        "recall": float(recall_score(labels, preds, zero_division=0)),
        "f1": float(f1_score(labels, preds, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, probs)) if both_classes else float("nan"),
        "confusion_matrix": confusion_matrix(labels, preds, labels=[0, 1]).tolist(),
    }


def _year_band(year: int) -> str:
    first, last = TRAIN_YEARS
    if year < first:
        return f"before {first}"
    if year < CUTOFF_YEAR:
        return f"{first}-{CUTOFF_YEAR - 1}"
    if year <= last:
        return f"{CUTOFF_YEAR}-{last}"
    return f"after {last}"


def slice_accuracy(frame: pd.DataFrame, probs: np.ndarray, *, threshold: float = 0.5) -> dict[str, dict[str, dict]]:
    """Accuracy per value of each known attribute column (material, condition, year band, shape)."""
    correct = (np.asarray(probs) >= threshold).astype(int) == frame["label"].to_numpy().astype(int)
    keys = {}
    for column in ("material", "condition", "shape"):
        if column in frame.columns:
            keys[column] = frame[column].astype(str).to_numpy()
    if "year" in frame.columns:
        keys["year_band"] = np.array([_year_band(int(y)) for y in frame["year"]])
    out: dict[str, dict[str, dict]] = {}
    for name, values in keys.items():
        out[name] = {}
        for value in sorted(set(values)):
            hit = values == value
            out[name][value] = {"rows": int(hit.sum()), "accuracy": float(correct[hit].mean())}
    return out


def classification_report_text(labels: np.ndarray, probs: np.ndarray, *, threshold: float = 0.5) -> str:
    from sklearn.metrics import classification_report

    preds = (np.asarray(probs) >= threshold).astype(int)
    return classification_report(labels, preds, labels=[0, 1], target_names=["compliant", "non-compliant"], digits=4, zero_division=0)


def format_report(metrics: dict, slices: dict | None = None) -> str:
    lines = [f"{'metric':<12}{'value':>10}"]
    for key in ("rows", "accuracy", "precision", "recall", "f1", "roc_auc"):
        value = metrics[key]
        lines.append(f"{key:<12}{value:>10}" if key == "rows" else f"{key:<12}{value:>10.4f}")
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    lines += ["", "confusion matrix (rows = truth, cols = predicted)", f"{'':<16}{'compliant':>12}{'non-compl.':>12}"]
    lines += [f"{'compliant':<16}{tn:>12}{fp:>12}", f"{'non-compliant':<16}{fn:>12}{tp:>12}"]
    for name, values in (slices or {}).items():
        lines += ["", f"accuracy by {name}"]
        lines += [f"  {value:<28}{stats['accuracy']:>8.4f}  ({stats['rows']} rows)" for value, stats in values.items()]
    return "\n".join(lines)


def evaluate_bundle(bundle: str | Path, frame: pd.DataFrame) -> tuple[dict, dict]:
    """Score a labelled frame with the bundle's ONNX model (the serving path) and return metrics, slices."""
    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(bundle, threads=2)
    probs = predictor.predict_proba(frame["text"].tolist())
    return classification_metrics(frame["label"].to_numpy(), probs, threshold=predictor.threshold), slice_accuracy(
        frame, probs, threshold=predictor.threshold
    )
