"""PyTorch models. Each maps token_ids int64 [batch, seq] (0 = padding) to P(non-compliant) [batch].

Only plain ops (Embedding, Linear, Conv1d, masked max / mean): they export to fast ONNX graphs.
EmbeddingBag is avoided on purpose: it exports as an ONNX Loop that runs ~200x slower.
"""

from __future__ import annotations

import torch
from torch import nn

from ml.text import TokenizerSpec, numeric_features

MODEL_TYPES = ("baseline", "cnn")
# The run artifact the gate's parity check loads: a plain state dict (tensors only), read with weights_only=True
# into the class built from this code, so a planted pickle in the registry never runs (the pickled PyTorch
# flavor stays for people, never for the pipeline).
PYTORCH_WEIGHTS = "pytorch_weights"
STATE_DICT_FILE = "state_dict.pt"


class ReferenceBaseline(nn.Module):
    """The reference workshop's Keras model: frozen GloVe, Flatten, Dense(64), Dense(32), Dense(1, sigmoid)."""

    def __init__(self, embeddings: torch.Tensor, max_length: int):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(max_length * embeddings.shape[1], 64),
            nn.ReLU(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 1),
        )
        self.register_buffer("temperature", torch.ones(()))  # ml.calibration sets it after training

    def logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(token_ids)).squeeze(-1)

    def scaled_logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.logits(token_ids) / self.temperature

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.scaled_logits(token_ids))


class TextCNN(nn.Module):
    """Word embeddings (GloVe-initialised, fine-tuned) beside fixed numeric digit features, parallel
    convolutions, masked max pooling and an MLP head.

    Digit tokens reach the convolutions only through the fixed ordinal features (their word vectors are
    masked out), so the model compares years by their digits instead of memorising the years it saw.
    Kernel widths reach 5 tokens: one window holds a context word and a 4-digit year.
    """

    def __init__(
        self,
        embeddings: torch.Tensor,
        numeric: torch.Tensor,
        channels: int = 64,
        kernels: tuple[int, ...] = (3, 5),
        dropout: float = 0.1,
    ):
        super().__init__()
        dim = embeddings.shape[1] + numeric.shape[1]
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=False, padding_idx=0)
        self.register_buffer("numeric", numeric.float())
        word_mask = (numeric.sum(dim=1, keepdim=True) == 0).float()
        word_mask[0] = 0.0  # padding contributes nothing, whatever its vector
        self.register_buffer("word_mask", word_mask)
        self.convs = nn.ModuleList(nn.Conv1d(dim, channels, k, padding=k // 2) for k in kernels)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels * len(kernels), 64), nn.ReLU(), nn.Linear(64, 1))
        # Training fits the raw logits; ml.calibration then sets the temperature the probabilities are divided by.
        self.register_buffer("temperature", torch.ones(()))

    def logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        mask = (token_ids != 0).unsqueeze(1)  # [b, 1, s]
        words = self.embedding(token_ids) * self.word_mask[token_ids]
        x = torch.cat([words, self.numeric[token_ids]], dim=2).transpose(1, 2)  # [b, d, s]
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))
            # ReLU outputs are >= 0, so zeroing padded positions is an exact masked max.
            pooled.append((h * mask).amax(dim=2))
        return self.head(torch.cat(pooled, dim=1)).squeeze(-1)

    def scaled_logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.logits(token_ids) / self.temperature

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.scaled_logits(token_ids))

    def for_export(self) -> nn.Module:
        """The same function in a form ONNX Runtime runs faster; the export's parity check compares it with this
        model. The convolutions precomputed per word (ml.table_cnn) where the tables fit, else each Conv1d as a
        (1, k) Conv2d: its blocked-layout kernel is 1.2-1.7x faster than the 1-D one here."""
        from ml.table_cnn import TableTextCNN, tables_fit

        return (TableTextCNN(self) if tables_fit(self) else _Conv2dTextCNN(self)).eval()


class _Conv2dTextCNN(nn.Module):
    def __init__(self, source: TextCNN):
        super().__init__()
        self.embedding, self.head = source.embedding, source.head
        self.register_buffer("numeric", source.numeric)
        self.register_buffer("word_mask", source.word_mask)
        self.register_buffer("temperature", source.temperature.clone())
        self.convs = nn.ModuleList()
        for conv in source.convs:
            k = conv.kernel_size[0]
            twin = nn.Conv2d(conv.in_channels, conv.out_channels, (1, k), padding=(0, k // 2))
            twin.weight.data = conv.weight.data.unsqueeze(2).clone()
            twin.bias.data = conv.bias.data.clone()
            self.convs.append(twin)

    def scaled_logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        mask = (token_ids != 0).unsqueeze(1).unsqueeze(2)  # [b, 1, 1, s]
        words = self.embedding(token_ids) * self.word_mask[token_ids]
        x = torch.cat([words, self.numeric[token_ids]], dim=2).transpose(1, 2).unsqueeze(2)  # [b, d, 1, s]
        pooled = [(torch.relu(conv(x)) * mask).amax(dim=(2, 3)) for conv in self.convs]
        return self.head(torch.cat(pooled, dim=1)).squeeze(-1) / self.temperature

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.scaled_logits(token_ids))


def build_model(model_type: str, *, embeddings: torch.Tensor, spec: TokenizerSpec) -> nn.Module:
    if model_type == "baseline":
        return ReferenceBaseline(embeddings, spec.max_length)
    if model_type == "cnn":
        return TextCNN(embeddings, torch.as_tensor(numeric_features(spec)))
    raise ValueError(f"unknown model type {model_type!r}; choose one of {MODEL_TYPES}")


def save_weights(model: nn.Module, path) -> None:
    """The state dict alone (tensors), never the module object."""
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)


def load_weights(model_type: str, path) -> nn.Module:
    """A model of `model_type` built from this code, its shapes read off the state dict, loaded strictly.
    torch.load(weights_only=True) refuses anything but tensors and plain containers: no code runs."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    state.setdefault("temperature", torch.ones(()))  # weights saved before calibration existed: uncalibrated
    if model_type == "cnn":
        convs = [state[f"convs.{i}.weight"] for i in range(len(state)) if f"convs.{i}.weight" in state]
        kernels = tuple(int(w.shape[2]) for w in convs)
        model = TextCNN(state["embedding.weight"], state["numeric"], channels=int(convs[0].shape[0]), kernels=kernels)
    elif model_type == "baseline":
        embeddings = state["embedding.weight"]
        model = ReferenceBaseline(embeddings, state["head.1.weight"].shape[1] // embeddings.shape[1])
    else:
        raise ValueError(f"unknown model type {model_type!r}; choose one of {MODEL_TYPES}")
    model.load_state_dict(state, strict=True)
    return model.eval()
