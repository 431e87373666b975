"""The CUDA path: parameters and batches on the GPU, bf16 autocast. Skipped where no CUDA device exists."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.data import generate
from ml.models import build_model
from ml.text import build_spec, encode_batch
from ml.training_loop import FitConfig, fit, pick_device


def test_auto_device_is_cpu_without_cuda_and_asking_for_cuda_fails_clearly():
    if torch.cuda.is_available():
        assert pick_device("auto").type == "cuda"
    else:
        assert pick_device("auto").type == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA device"):
            pick_device("cuda")


@pytest.mark.gpu
def test_training_runs_on_cuda_with_mixed_precision():
    frame = generate(2000, seed=1)
    spec = build_spec(frame["text"], max_length=48)
    ids = encode_batch(frame["text"].tolist(), spec)
    labels = frame["label"].to_numpy()
    model = build_model("cnn", embeddings=torch.randn(spec.vocab_size, 32), spec=spec)
    history = fit(
        model,
        ids,
        labels.astype(np.float32),
        ids[:200],
        labels[:200],
        config=FitConfig(epochs=1, progress=False),
        device=torch.device("cuda"),
    )
    assert history.mixed_precision
    assert {p.device.type for p in model.parameters()} == {"cuda"}
