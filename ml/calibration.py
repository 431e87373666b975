"""Probabilities that mean what they say: temperature scaling fitted on the validation split, and the expected
calibration error (ECE) before and after.

The temperature T divides the model's logit (`model.temperature`, a buffer), so the exported ONNX model carries it
and every reader of the bundle gets calibrated probabilities; labels at the 0.5 threshold do not change. T is the
one that minimises the validation log-loss on a grid (0.05..20), kept at 1 when it would raise the validation ECE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 481))


@dataclass(frozen=True)
class Calibration:
    temperature: float
    val_logits: np.ndarray  # the uncalibrated validation logits
    val_labels: np.ndarray

    def probabilities(self, *, calibrated: bool = True) -> np.ndarray:
        return _sigmoid(self.val_logits / (self.temperature if calibrated else 1.0))

    @property
    def metrics(self) -> dict[str, float]:
        return {
            "calibration_temperature": self.temperature,
            "val_ece_uncalibrated": expected_calibration_error(self.val_labels, self.probabilities(calibrated=False)),
            "val_ece": expected_calibration_error(self.val_labels, self.probabilities()),
        }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """The mean |accuracy - confidence| over equal-width probability bins, weighted by each bin's rows
    (P(non-compliant) against the share of label 1 in the bin). 0.0 for no rows."""
    labels, probs = np.asarray(labels, dtype=np.float64).reshape(-1), np.asarray(probs, dtype=np.float64).reshape(-1)
    if len(labels) != len(probs):
        raise ValueError(f"expected as many labels as probabilities, got {len(labels)} and {len(probs)}")
    if not len(labels):
        return 0.0
    which = np.minimum((probs * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        hit = which == b
        total += hit.sum() * abs(labels[hit].mean() - probs[hit].mean())
    return float(total / len(labels))


def reliability_curve(labels: np.ndarray, probs: np.ndarray, *, bins: int = ECE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty bin: mean probability, share of label 1, rows."""
    labels, probs = np.asarray(labels, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    which = np.minimum((probs * bins).astype(int), bins - 1)
    found = np.unique(which)
    return (
        np.array([probs[which == b].mean() for b in found]),
        np.array([labels[which == b].mean() for b in found]),
        np.array([(which == b).sum() for b in found]),
    )


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The grid temperature with the lowest log-loss, or 1.0 when it does not lower the ECE (or there are no rows)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if not len(logits):
        return 1.0
    scaled = logits[None, :] / TEMPERATURES[:, None]
    # log-loss of sigmoid(z) against y, written stably: softplus(z) - y * z
    loss = (np.logaddexp(0.0, scaled) - labels[None, :] * scaled).mean(axis=1)
    best = float(TEMPERATURES[int(np.argmin(loss))])
    if expected_calibration_error(labels, _sigmoid(logits / best)) > expected_calibration_error(labels, _sigmoid(logits)):
        return 1.0
    return best


def calibrate(model, val_ids: np.ndarray, val_labels: np.ndarray, *, batch_size: int = 1024) -> Calibration:
    """Fit the temperature on the validation rows and set it on the model (in place); the model stays on the CPU."""
    import torch

    model = model.to("cpu").eval()
    model.temperature.fill_(1.0)
    with torch.no_grad():
        parts = [model.logits(torch.as_tensor(val_ids[i : i + batch_size])).double().numpy() for i in range(0, len(val_ids), batch_size)]
    logits = np.concatenate(parts) if parts else np.zeros(0)
    temperature = fit_temperature(logits, val_labels)
    model.temperature.fill_(temperature)
    return Calibration(temperature=temperature, val_logits=logits, val_labels=np.asarray(val_labels, dtype=np.float64))
