"""GloVe word vectors: load the standard text format, or train them on the corpus with the GloVe objective.

Training (Pennington et al., 2014): symmetric co-occurrence counts weighted 1/distance inside a window,
then weighted least squares  sum_ij f(X_ij) (w_i . c_j + b_i + c'_j - log X_ij)^2  with
f(x) = min(1, (x / x_max) ** alpha), optimised with AdaGrad. Vectors are w + c.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.text import TokenizerSpec


class GloveError(ValueError):
    """A GloVe file that cannot be used."""


@dataclass
class GloveVectors:
    matrix: np.ndarray  # float32 [vocab_size, dim], row 0 (padding) is zero
    provenance: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


def load_glove_text(path: str | Path, spec: TokenizerSpec, *, seed: int = 7) -> GloveVectors:
    """Read `word v1 ... vd` lines; vocabulary words missing from the file get small random vectors."""
    path = Path(path)
    wanted = spec.index
    found: dict[int, np.ndarray] = {}
    dim = None
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                digest.update(raw)
                try:
                    line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
                except UnicodeDecodeError as exc:
                    raise GloveError(f"{path}: line {line_no} is not UTF-8") from exc
                if not line.strip():
                    continue
                parts = line.rstrip().split(" ")
                if dim is None:
                    dim = len(parts) - 1
                    if dim < 1:
                        raise GloveError(f"{path}: line {line_no} has no vector values")
                if len(parts) - 1 != dim:
                    raise GloveError(f"{path}: line {line_no} has {len(parts) - 1} values, expected {dim}")
                idx = wanted.get(parts[0].casefold() if spec.lowercase else parts[0])
                if idx is not None and idx not in found:
                    try:
                        found[idx] = np.asarray(parts[1:], dtype=np.float32)
                    except ValueError as exc:
                        raise GloveError(f"{path}: line {line_no} has a value that is not a number") from exc
    except OSError as exc:
        raise GloveError(f"cannot read GloVe file {path}: {exc.strerror or exc}") from exc
    if dim is None:
        raise GloveError(f"{path} holds no vectors")
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, size=(spec.vocab_size, dim)).astype(np.float32)
    for idx, vec in found.items():
        matrix[idx] = vec
    matrix[0] = 0.0
    coverage = len(found) / max(1, spec.vocab_size - 1)
    return GloveVectors(
        matrix, {"source": "file", "path": str(path), "sha256": digest.hexdigest(), "dim": dim, "coverage": round(coverage, 4)}
    )


def cooccurrence(token_ids: np.ndarray, vocab_size: int, *, window: int = 5) -> np.ndarray:
    """Dense symmetric co-occurrence matrix from padded id rows (0 = padding), weighted 1/distance."""
    counts = np.zeros(vocab_size * vocab_size, dtype=np.float64)
    for d in range(1, window + 1):
        left, right = token_ids[:, :-d].ravel(), token_ids[:, d:].ravel()
        keep = (left != 0) & (right != 0)
        left, right = left[keep], right[keep]
        weight = 1.0 / d
        counts += np.bincount(left * vocab_size + right, minlength=vocab_size * vocab_size) * weight
        counts += np.bincount(right * vocab_size + left, minlength=vocab_size * vocab_size) * weight
    return counts.reshape(vocab_size, vocab_size)


def train_glove(
    cooc: np.ndarray,
    *,
    dim: int = 100,
    epochs: int = 150,
    lr: float = 0.05,
    x_max: float = 100.0,
    alpha: float = 0.75,
    seed: int = 7,
    device: str = "cpu",
) -> GloveVectors:
    """Fit GloVe vectors to a co-occurrence matrix (full-batch AdaGrad over the non-zero cells)."""
    import torch

    vocab_size = cooc.shape[0]
    rows, cols = np.nonzero(cooc)
    if len(rows) == 0:
        raise GloveError("the corpus has no co-occurring tokens to train GloVe on")
    generator = torch.Generator().manual_seed(seed)
    dev = torch.device(device)
    i = torch.as_tensor(rows, device=dev)
    j = torch.as_tensor(cols, device=dev)
    x = torch.as_tensor(cooc[rows, cols], dtype=torch.float32, device=dev)
    log_x = torch.log(x)
    weight = torch.clamp((x / x_max) ** alpha, max=1.0)
    scale = 0.5 / dim
    w = ((torch.rand(vocab_size, dim, generator=generator) - 0.5) * scale).to(dev).requires_grad_()
    c = ((torch.rand(vocab_size, dim, generator=generator) - 0.5) * scale).to(dev).requires_grad_()
    bw = torch.zeros(vocab_size, device=dev, requires_grad=True)
    bc = torch.zeros(vocab_size, device=dev, requires_grad=True)
    optimizer = torch.optim.Adagrad([w, c, bw, bc], lr=lr)
    loss_value = float("nan")
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)  # small gathers: extra threads only spin (10x slower on a busy 2-core box)
    try:
        for _ in range(epochs):
            optimizer.zero_grad()
            pred = (w[i] * c[j]).sum(dim=1) + bw[i] + bc[j]
            loss = (weight * (pred - log_x) ** 2).sum() / len(rows)
            loss.backward()
            optimizer.step()
            loss_value = float(loss.detach())
    finally:
        torch.set_num_threads(threads)
    matrix = (w + c).detach().cpu().numpy().astype(np.float32)
    seen = cooc.sum(axis=1) > 0
    # Tokens the corpus never used (digit places, rare words) keep small random vectors.
    rng = np.random.default_rng(seed)
    matrix[~seen] = rng.normal(0.0, 0.1, size=(int((~seen).sum()), dim)).astype(np.float32)
    matrix[0] = 0.0
    return GloveVectors(
        matrix,
        {"source": "trained", "objective": "glove", "dim": dim, "epochs": epochs, "final_loss": round(loss_value, 6), "cells": len(rows)},
    )


def train_glove_on_corpus(
    token_ids: np.ndarray, spec: TokenizerSpec, *, dim: int = 100, epochs: int = 150, seed: int = 7, device: str = "cpu"
) -> GloveVectors:
    vectors = train_glove(cooccurrence(token_ids, spec.vocab_size), dim=dim, epochs=epochs, seed=seed, device=device)
    vectors.provenance["corpus_rows"] = len(token_ids)
    return vectors


def save_glove_text(vectors: GloveVectors, spec: TokenizerSpec, path: str | Path) -> Path:
    """Write vectors in the standard GloVe text format (padding row omitted)."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as fh:
        for idx, token in enumerate(spec.vocab):
            if idx == 0:
                continue
            fh.write(token + " " + " ".join(f"{v:.6f}" for v in vectors.matrix[idx]) + "\n")
    return path
