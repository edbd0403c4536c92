"""Symmetric contrastive (CLIP/CLAP) loss over the global batch of all ranks.

Each rank gathers every rank's embeddings *with their gradients* (``gather_with_grad``), so the
negatives of a step are the whole global batch and the gradient equals that of the single-process
loss on the concatenated batch: each rank computes the same global loss, its backward sends
every rank's share of the gradient home by an all-reduce, and DDP's gradient averaging over the
identical per-rank losses leaves exactly the single-process gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


class _GatherWithGrad(torch.autograd.Function):
    """all_gather forward; backward sums every rank's gradient for this rank's slice.

    Written on all_reduce (every backend has it, gloo included) rather than reduce-scatter."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world, ctx.n = dist.get_rank(), dist.get_world_size(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(ctx.world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(n, D) on each rank -> (world * n, D) in rank order, differentiable."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     max_scale: float = 100.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean of audio->text and text->audio cross-entropy over the global batch.

    ``logit_scale`` is the log of the temperature's inverse (CLIP's parametrisation), clamped
    at ``max_scale`` as CLIP does. Returns the loss and detached statistics for the log.
    """
    a = gather_with_grad(F.normalize(audio.float(), dim=-1))
    t = gather_with_grad(F.normalize(text.float(), dim=-1))
    scale = logit_scale.float().exp().clamp(max=max_scale)
    logits = scale * a @ t.T
    target = torch.arange(len(a), device=a.device)
    loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    with torch.no_grad():
        acc = 0.5 * ((logits.argmax(1) == target).float().mean() + (logits.argmax(0) == target).float().mean())
    return loss, {"loss": float(loss.detach()), "batch_acc": float(acc), "scale": float(scale.detach())}


def metrics_of(report) -> dict[str, float]:
    """An evaluation's scalar metrics and per-class values (``recall/LABEL``) for the training log."""
    out = {k: float(v) for k, v in report.values.items() if isinstance(v, (int, float))}
    out.update({f"recall/{k}": float(v) for k, v in report.per_class.items()})
    return out
