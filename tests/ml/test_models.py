"""Models and ONNX export: the bundle contract, parity, no slow ops, any batch size."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from ml.export import ParityError, export_and_verify, export_onnx
from ml.models import build_model
from ml.text import build_spec, encode_batch

TEXTS = ["steel gear made in 1985 in fair condition", "carbon fiber bracket made in 2010, good condition"] * 8


@pytest.fixture(scope="module")
def spec():
    return build_spec(TEXTS, max_length=12)


@pytest.mark.parametrize("model_type", ["cnn", "baseline"])
def test_onnx_export_meets_the_contract_with_parity(spec, tmp_path, model_type):
    torch.manual_seed(0)
    model = build_model(model_type, embeddings=torch.randn(spec.vocab_size, 16), spec=spec).eval()
    ids = encode_batch(TEXTS, spec)
    diff = export_and_verify(model, tmp_path / "m.onnx", ids, max_length=spec.max_length)
    assert diff < 1e-5
    graph = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(graph)
    assert not (tmp_path / "m.onnx.data").exists() and len(list(tmp_path.iterdir())) == 1  # single file
    assert {n.op_type for n in graph.graph.node}.isdisjoint({"Loop", "Scan"})  # no slow loops
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    (inp,), outs = session.get_inputs(), session.get_outputs()
    assert inp.name == "token_ids" and inp.type == "tensor(int64)" and outs[0].name == "probability"
    for batch in (1, 7, 300):
        (probs,) = session.run(["probability"], {"token_ids": np.resize(ids, (batch, spec.max_length))})
        assert probs.shape == (batch,) and probs.dtype == np.float32 and ((probs >= 0) & (probs <= 1)).all()


def test_padding_does_not_change_the_cnn_prediction(spec):
    torch.manual_seed(0)
    model = build_model("cnn", embeddings=torch.randn(spec.vocab_size, 16), spec=spec).eval()
    ids = torch.as_tensor(encode_batch(["steel gear made in 1985"], spec))
    shorter = ids[:, :8]
    assert torch.allclose(model(ids), model(shorter), atol=1e-6)


def test_parity_failure_is_loud(spec, tmp_path, monkeypatch):
    model = build_model("cnn", embeddings=torch.randn(spec.vocab_size, 8), spec=spec).eval()
    export_onnx(model, tmp_path / "m.onnx", max_length=spec.max_length)
    with torch.no_grad():  # a PyTorch model that no longer matches what was exported
        model.head[-1].bias += 5.0
    monkeypatch.setattr("ml.export.export_onnx", lambda *a, **k: tmp_path / "m.onnx")
    with pytest.raises(ParityError, match="disagrees"):
        export_and_verify(model, tmp_path / "m.onnx", encode_batch(TEXTS, spec), max_length=spec.max_length)


def test_unknown_model_type_is_rejected(spec):
    with pytest.raises(ValueError, match="unknown model type"):
        build_model("transformer", embeddings=torch.randn(spec.vocab_size, 8), spec=spec)


def test_the_fit_ends_with_the_weights_of_its_best_validation_epoch():
    """A later epoch with a worse validation loss does not become the model (input tried: validation losses 0.5,
    0.2, 0.9 over three epochs of a tiny linear module, each epoch's weights marked by its number)."""
    import torch

    from ml.training_loop import BestWeights, FitHistory

    model = torch.nn.Linear(2, 1)
    best, history = BestWeights(), FitHistory()
    for epoch, loss in enumerate([0.5, 0.2, 0.9]):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        best.offer(model, epoch, loss)
    best.restore(model, history)
    assert history.best_epoch == 1 and torch.all(model.weight == 1.0)
    nan_first = BestWeights()
    nan_first.offer(model, 0, float("nan"))  # a first epoch with no validation rows is still kept
    assert nan_first.state is not None
