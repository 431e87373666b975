"""Build a real inference bundle for portal tests: a small CNN with random weights exported to ONNX.

Tests may import torch; the portal never does. For the bundles the session's trained one
(`trained_bundle`, tests/conftest.py) cannot stand in for: a second version for reload tests, and the
fixed-length Flatten model the portal's variable-length check refuses.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

from common.names import MODEL_NAME


def _tiny_cnn_class():
    import torch
    from torch import nn

    class TinyCNN(nn.Module):
        """Embedding, one convolution, masked max pooling, linear, sigmoid: the ONNX contract, nothing more."""

        def __init__(self, vocab: int, dim: int):
            super().__init__()
            self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
            self.conv = nn.Conv1d(dim, 16, 3, padding=1)
            self.head = nn.Linear(16, 1)

        def forward(self, token_ids):
            mask = (token_ids != 0).unsqueeze(1)
            h = torch.relu(self.conv(self.embedding(token_ids).transpose(1, 2)))
            return torch.sigmoid(self.head((h * mask).amax(dim=2)).squeeze(-1))

    class TinyFlat(nn.Module):
        """Embedding, Flatten, linear: accepts only [batch, max_length] (like the reference Keras model)."""

        def __init__(self, vocab: int, dim: int, length: int):
            super().__init__()
            self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
            self.head = nn.Linear(dim * length, 1)

        def forward(self, token_ids):
            return torch.sigmoid(self.head(self.embedding(token_ids).flatten(1)).squeeze(-1))

    return TinyCNN, TinyFlat


def build_bundle(
    out: Path, *, rows: int = 400, seed: int = 0, version: str | None = None, dim: int = 16, fixed_length: bool = False
) -> Path:
    import numpy as np
    import torch

    from ml.bundle import DEFAULT_LABELS, LABELS_FILE, MODEL_FILE, REFERENCE_FILE, TOKENIZER_FILE, ModelCard, write_card
    from ml.data import generate
    from ml.text import build_spec, encode_batch

    tiny_cnn, tiny_flat = _tiny_cnn_class()
    out.mkdir(parents=True, exist_ok=True)
    frame = generate(rows, seed=seed)
    spec = build_spec(frame["text"], max_length=32)
    torch.manual_seed(seed)
    model = (tiny_flat(spec.vocab_size, dim, spec.max_length) if fixed_length else tiny_cnn(spec.vocab_size, dim)).eval()
    example = torch.from_numpy(encode_batch(list(frame["text"][:2]), spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(out / MODEL_FILE),
            dynamo=False,
            external_data=False,
            input_names=["token_ids"],
            output_names=["probability"],
            dynamic_axes={"token_ids": {0: "batch", 1: "seq"}, "probability": {0: "batch"}},
            opset_version=17,
        )
    spec.save(out / TOKENIZER_FILE)
    (out / LABELS_FILE).write_text(json.dumps(DEFAULT_LABELS))
    with torch.no_grad():
        probs = model(torch.from_numpy(encode_batch(list(frame["text"]), spec))).numpy()
    card = ModelCard(
        model_name=MODEL_NAME,
        model_version=version,
        run_id=f"test-run-{seed}",
        model_type="cnn",
        metrics={"test_accuracy": float(np.mean((probs >= 0.5) == frame["label"].to_numpy()))},
        data_digest="test",
        git_commit="test",
        created_at=datetime.now(UTC).isoformat(),
    )
    write_card(out, card)
    frame.assign(probability=probs)[["text", "label", "probability"]].to_csv(out / REFERENCE_FILE, index=False)
    return out


if __name__ == "__main__":
    import sys

    print(build_bundle(Path(sys.argv[1]), version=sys.argv[2] if len(sys.argv) > 2 else None))
