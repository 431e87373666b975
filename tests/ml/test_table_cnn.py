"""The CNN's export form with its convolutions precomputed per word (ml.table_cnn): the same function as the
trained model, a graph without convolutions, and the convolution form where the tables would not fit."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch

from ml import table_cnn
from ml.export import export_and_verify
from ml.models import TextCNN, build_model
from ml.text import build_spec, encode_batch, numeric_features

TEXTS = [
    "steel gear made in 1985 in fair condition",
    "Component: rear axle; Material: plastic; Year: 2019; Condition: good",
    "carbon fiber bracket made in 2010, good condition",
    "iron",
    "",
]


def _model(spec, kernels=(3, 5)):
    torch.manual_seed(1)
    return TextCNN(torch.randn(spec.vocab_size, 16), torch.as_tensor(numeric_features(spec)), channels=8, kernels=kernels).eval()


def _ops(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_the_tables_compute_the_trained_model_to_float_rounding():
    spec = build_spec(TEXTS, max_length=16)
    model = _model(spec)
    with torch.no_grad():
        model.temperature.fill_(0.8)
    ids = torch.as_tensor(encode_batch(TEXTS * 3, spec))
    export = model.for_export()
    assert isinstance(export, table_cnn.TableTextCNN)
    with torch.no_grad():
        for width in (16, 5, 1):  # ids cut after the longest text, down to one column (tried: the padding cut)
            assert torch.allclose(export.scaled_logits(ids[:, :width]), model.scaled_logits(ids[:, :width]), atol=1e-5)


def test_the_export_has_no_convolution_and_passes_parity(tmp_path):
    spec = build_spec(TEXTS, max_length=16)
    model = build_model("cnn", embeddings=torch.randn(spec.vocab_size, 16), spec=spec).eval()
    ids = encode_batch(TEXTS * 4, spec)
    assert export_and_verify(model, tmp_path / "m.onnx", ids, max_length=spec.max_length) < 1e-5
    ops = _ops(tmp_path / "m.onnx")
    assert "Conv" not in ops and "Gather" in ops and ops.isdisjoint({"Loop", "Scan"})
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for rows, width in ((1, 1), (1, 16), (300, 9)):  # any batch, any width
        (probs,) = session.run(["probability"], {"token_ids": np.resize(ids, (rows, 16))[:, :width].copy()})
        with torch.no_grad():
            expected = model(torch.as_tensor(np.resize(ids, (rows, 16))[:, :width].copy())).numpy()
        assert probs.shape == (rows,) and np.abs(probs - expected).max() < 1e-5


def test_oversized_tables_keep_the_convolutions(tmp_path, monkeypatch):
    spec = build_spec(TEXTS, max_length=16)
    ids = encode_batch(TEXTS, spec)
    big = _model(spec, kernels=(3, 5, 7))
    monkeypatch.setattr(table_cnn, "MAX_TABLE_BYTES", table_cnn.table_bytes(big) - 1)  # tried: tables one byte too big
    export_and_verify(big, tmp_path / "big.onnx", ids, max_length=spec.max_length)
    assert "Conv" in _ops(tmp_path / "big.onnx")
    monkeypatch.setattr(table_cnn, "MAX_TABLE_BYTES", table_cnn.table_bytes(big))  # exactly at the limit: tables
    export_and_verify(big, tmp_path / "fits.onnx", ids, max_length=spec.max_length)
    assert "Conv" not in _ops(tmp_path / "fits.onnx")
