"""Pictures people would rather look at than read: confusion matrix, ROC curve, training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(matrix: list[list[int]], path: str | Path, *, title: str = "Confusion matrix") -> Path:
    plt = _pyplot()
    data = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=120)
    ax.imshow(data, cmap="Blues")
    names = ["compliant", "non-compliant"]
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), value in np.ndenumerate(data):
        ax.text(j, i, f"{value}", ha="center", va="center", color="white" if value > data.max() / 2 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_roc(labels: np.ndarray, probs: np.ndarray, path: str | Path, *, title: str = "ROC curve") -> Path:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=120)
    if len(np.unique(labels)) == 2:
        fpr, tpr, _ = roc_curve(labels, probs)
        ax.plot(fpr, tpr, label=f"AUC = {roc_auc_score(labels, probs):.4f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_training_curves(train_loss: list[float], val_accuracy: list[float], path: str | Path) -> Path:
    plt = _pyplot()
    epochs = np.arange(1, len(train_loss) + 1)
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=120)
    ax.plot(epochs, train_loss, marker="o", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    other = ax.twinx()
    other.plot(epochs, val_accuracy, marker="s", color="tab:green", label="val accuracy")
    other.set_ylabel("accuracy")
    fig.legend(loc="upper center", ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_reliability(labels: np.ndarray, before: np.ndarray, after: np.ndarray, path: str | Path, *, title: str = "Reliability") -> Path:
    """Share of label 1 against the mean probability per bin, before and after calibration (ECE in the legend)."""
    from ml.calibration import expected_calibration_error, reliability_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=120)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, probs, marker in (("uncalibrated", before, "o"), ("calibrated", after, "s")):
        mean_p, share, _ = reliability_curve(labels, probs)
        ece = expected_calibration_error(labels, probs)
        ax.plot(mean_p, share, marker=marker, label=f"{name} (ECE {ece:.4f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted P(non-compliant)")
    ax.set_ylabel("share non-compliant")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
