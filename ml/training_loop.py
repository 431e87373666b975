"""The PyTorch training loop, free of MLflow so it runs anywhere (CPU, one GPU, a benchmark)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA device is available")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@dataclass
class FitConfig:
    epochs: int = 4
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 7
    progress: bool = True
    log_every: int = 10  # on_batch gets the batch's loss and accuracy every this many batches (0: never)


@dataclass
class FitHistory:
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    mixed_precision: bool = False
    best_epoch: int = 0  # 0-based: the epoch whose weights the model ends with (lowest validation loss)

    def record(self, metrics: dict) -> None:
        """One epoch's train_loss, val_accuracy, val_loss and epoch_seconds."""
        for key in ("train_loss", "val_accuracy", "val_loss", "epoch_seconds"):
            getattr(self, key).append(metrics[key])


class BestWeights:
    """The weights of the epoch with the lowest validation loss, put back at the end: a last epoch that overshoots
    (seen on 10,000-row data: validation accuracy 0.996 -> 0.974) does not become the model."""

    def __init__(self) -> None:
        self.loss, self.epoch, self.state = float("inf"), 0, None

    def offer(self, model: nn.Module, epoch: int, val_loss: float) -> None:
        if val_loss < self.loss or self.state is None:  # nan never wins, but the first epoch is always kept
            self.loss, self.epoch = val_loss, epoch
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restore(self, model: nn.Module, history: FitHistory) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
            history.best_epoch = self.epoch


def batch_due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


@torch.no_grad()
def batch_metrics(loss: float, logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """What on_batch receives: the batch's training loss and accuracy."""
    correct = ((logits.float() >= 0) == (labels >= 0.5)).float().mean()
    return {"batch_train_loss": loss, "batch_train_accuracy": float(correct)}


@torch.no_grad()
def predict_proba(model: nn.Module, token_ids: np.ndarray, *, device: torch.device, batch_size: int = 2048) -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(token_ids), batch_size):
        batch = torch.as_tensor(token_ids[start : start + batch_size], device=device)
        out.append(model(batch).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def fit(
    model: nn.Module,
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    val_ids: np.ndarray,
    val_labels: np.ndarray,
    *,
    config: FitConfig,
    device: torch.device,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, dict], None] | None = None,
) -> FitHistory:
    """Adam on binary cross-entropy over logits; bf16 autocast on CUDA; the model ends with the weights of its best
    epoch by validation loss (BestWeights). Returns per-epoch history. on_epoch(epoch, metrics) after each epoch;
    on_batch(step, metrics) every config.log_every batches (step: batches so far)."""
    seed_everything(config.seed)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    amp = device.type == "cuda"
    history = FitHistory(mixed_precision=amp)
    x_all = torch.as_tensor(train_ids)
    y_all = torch.as_tensor(train_labels, dtype=torch.float32)
    generator = torch.Generator().manual_seed(config.seed)
    steps = (len(x_all) + config.batch_size - 1) // config.batch_size
    best = BestWeights()
    for epoch in range(config.epochs):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(x_all), generator=generator)
        total = 0.0
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not config.progress, leave=False, mininterval=2.0)
        for step in bar:
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            xb, yb = x_all[idx].to(device, non_blocking=True), y_all[idx].to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model.logits(xb)
            loss = loss_fn(logits.float(), yb)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            total += value * len(idx)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{value:.4f}")
            if on_batch and batch_due(epoch * steps + step, config.log_every):
                on_batch(epoch * steps + step, batch_metrics(value, logits, yb))
        probs = predict_proba(model, val_ids, device=device)
        val_loss = float(
            nn.functional.binary_cross_entropy(torch.tensor(probs).clamp(1e-7, 1 - 1e-7), torch.tensor(val_labels, dtype=torch.float32))
        )
        metrics = {
            "train_loss": total / max(1, len(x_all)),
            "val_accuracy": float(((probs >= 0.5).astype(int) == val_labels).mean()) if len(val_labels) else float("nan"),
            "val_loss": val_loss,
            "epoch_seconds": time.perf_counter() - started,
        }
        history.record(metrics)
        best.offer(model, epoch, val_loss)
        if on_epoch:
            on_epoch(epoch, metrics)
    best.restore(model, history)
    model.eval()
    return history
