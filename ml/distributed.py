"""Data-parallel training under torchrun: `torchrun --nproc-per-node N -m ml train ...`.

Each process (rank) holds the whole model and a 1/N share of every epoch's batches (a DistributedSampler);
DistributedDataParallel averages the gradients across ranks after each backward pass, so every rank takes the
same optimizer step. gloo on CPU, NCCL on CUDA (one GPU per rank, LOCAL_RANK). Rank 0 alone talks to MLflow,
evaluates, exports and writes the bundle; the other ranks only train. Without torchrun (no WORLD_SIZE, or 1)
nothing here is used and training runs in one process as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_size(environ: dict | None = None) -> int:
    env = os.environ if environ is None else environ
    return int(env.get("WORLD_SIZE") or 1)


def start(device_request: str = "auto") -> tuple[DistContext, object]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT).

    Returns the context and this rank's torch.device. A SIGTERM (torchrun stopping the job because another rank
    died) becomes SystemExit, so an MLflow run in progress on rank 0 ends FAILED, never FINISHED.
    """
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = device_request in ("auto", "cuda") and torch.cuda.is_available()
    if device_request == "cuda" and not use_cuda:
        raise RuntimeError("CUDA was requested but no CUDA device is available")
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    context = DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank, backend=backend)
    return context, torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")


def stop() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        # Leave together: a rank that tears gloo down while rank 0 still exports and logs can abort in gloo's
        # destructor ("terminate called without an active exception"; seen once under load in CI).
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()


def share(value, context: DistContext):
    """Rank 0's value on every rank (any picklable object)."""
    import torch.distributed as dist

    box = [value if context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _logits_module(model):
    """The model with forward = its logits: what DistributedDataParallel wraps (BCE-with-logits loss)."""
    from torch import nn

    class Logits(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, token_ids):
            return self.inner.logits(token_ids)

    return Logits(model)


def fit_distributed(
    model,
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    val_ids: np.ndarray,
    val_labels: np.ndarray,
    *,
    config,
    device,
    context: DistContext,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, dict], None] | None = None,
):
    """ml.training_loop.fit across ranks: the same global batch (config.batch_size split over the ranks), the
    same optimizer, gradients averaged by DDP. Validation, on_epoch and on_batch (rank 0's share) run on rank 0."""
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DistributedSampler

    from ml.training_loop import BestWeights, FitHistory, batch_due, batch_metrics, predict_proba, seed_everything

    seed_everything(config.seed)
    model.to(device)
    ddp = DistributedDataParallel(_logits_module(model), device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam([p for p in ddp.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    amp, best = device.type == "cuda", BestWeights()  # the best epoch's weights, kept on the main rank (its model is the one used)
    history = FitHistory(mixed_precision=amp)
    x_all, y_all = torch.as_tensor(train_ids), torch.as_tensor(train_labels, dtype=torch.float32)
    sampler = DistributedSampler(range(len(x_all)), num_replicas=context.world_size, rank=context.rank, shuffle=True, seed=config.seed)
    per_rank = max(1, config.batch_size // context.world_size)
    for epoch in range(config.epochs):
        ddp.train()
        sampler.set_epoch(epoch)
        started = time.perf_counter()
        order = torch.tensor(list(sampler))
        sums = torch.zeros(2, dtype=torch.float64)  # loss x rows, rows
        for start in range(0, len(order), per_rank):
            idx = order[start : start + per_rank]
            xb, yb = x_all[idx].to(device, non_blocking=True), y_all[idx].to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                logits = ddp(xb)
            loss = loss_fn(logits.float(), yb)
            loss.backward()
            optimizer.step()
            sums += torch.tensor([float(loss.detach()) * len(idx), len(idx)], dtype=torch.float64)
            step = epoch * ((len(order) + per_rank - 1) // per_rank) + start // per_rank
            if on_batch and context.is_main and batch_due(step, config.log_every):
                on_batch(step, batch_metrics(float(loss.detach()), logits, yb))
        sums = sums.to(device)
        dist.all_reduce(sums)
        sums = sums.cpu()
        if context.is_main:
            metrics = _epoch_metrics(model, val_ids, val_labels, device=device, predict=predict_proba)
            metrics.update(train_loss=float(sums[0] / max(1.0, float(sums[1]))), epoch_seconds=time.perf_counter() - started)
            history.record(metrics)
            best.offer(model, epoch, metrics["val_loss"])
            if on_epoch:
                on_epoch(epoch, metrics)
    best.restore(model, history)
    model.eval()
    return history


def _epoch_metrics(model, val_ids: np.ndarray, val_labels: np.ndarray, *, device, predict) -> dict:
    import torch
    from torch import nn

    probs = predict(model, val_ids, device=device)
    val_loss = nn.functional.binary_cross_entropy(torch.tensor(probs).clamp(1e-7, 1 - 1e-7), torch.tensor(val_labels, dtype=torch.float32))
    accuracy = float(((probs >= 0.5).astype(int) == val_labels).mean()) if len(val_labels) else float("nan")
    return {"val_accuracy": accuracy, "val_loss": float(val_loss)}
