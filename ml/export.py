"""ONNX export to the bundle contract, with a parity check against PyTorch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ml.bundle import INPUT_NAME, LOGIT_NAME, OUTPUT_NAME

PARITY_TOLERANCE = 1e-5


class ParityError(RuntimeError):
    """ONNX Runtime and PyTorch disagree beyond the tolerance."""


class _WithLogit(nn.Module):
    """The model's probability and, beside it, its calibrated logit (what the Predictor's occlusion evidence
    compares: it does not saturate where float32 probabilities round to 1)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, token_ids: torch.Tensor):
        logit = self.model.scaled_logits(token_ids)
        return torch.sigmoid(logit), logit


def export_onnx(model: nn.Module, path: str | Path, *, max_length: int) -> Path:
    """Single-file ONNX (no external data): token_ids int64 [batch, seq] -> probability float32 [batch] (the temperature
    folded in), and logit float32 [batch] (the calibrated logit) for models that have one."""
    path = Path(path)
    model = model.to("cpu").eval()
    if hasattr(model, "for_export"):
        model = model.for_export()
    outputs = [OUTPUT_NAME]
    if hasattr(model, "scaled_logits"):
        model, outputs = _WithLogit(model).eval(), [OUTPUT_NAME, LOGIT_NAME]
    example = torch.ones((2, max_length), dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns that dynamo is the future
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=outputs,
            dynamic_axes={INPUT_NAME: {0: "batch", 1: "sequence"}, **{name: {0: "batch"} for name in outputs}},
            opset_version=17,
            dynamo=False,
            external_data=False,
        )
    return path


def parity_max_abs_diff(model: nn.Module, onnx_path: str | Path, token_ids: np.ndarray) -> float:
    import onnxruntime as ort

    model = model.to("cpu").eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(torch.as_tensor(token_ids)).numpy()
    (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: token_ids})
    return float(np.max(np.abs(expected - actual))) if len(token_ids) else 0.0


def export_and_verify(
    model: nn.Module, path: str | Path, token_ids: np.ndarray, *, max_length: int, tolerance: float = PARITY_TOLERANCE
) -> float:
    """Export, then compare on the given rows; raise ParityError (loudly) when they disagree."""
    export_onnx(model, path, max_length=max_length)
    diff = parity_max_abs_diff(model, path, token_ids)
    if not diff < tolerance:
        raise ParityError(
            f"ONNX export disagrees with PyTorch: max |torch - onnxruntime| = {diff:.3g} >= {tolerance:g} on {len(token_ids)} rows"
        )
    return diff
