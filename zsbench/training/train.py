"""The training loop: DDP through torchrun, warm-up + cosine, AMP, gradient accumulation,
checkpoints every K steps and at the end, bit-for-bit ``--resume``, periodic zero-shot
evaluation through ``zsbench.evaluate`` and console/CSV (optionally TensorBoard, W&B) logging.

Distributed set-up is torchrun's: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` from its
environment, rendezvous by ``init_process_group`` (multi-node works by torchrun's own
``--nnodes``/``--rdzv-endpoint``; nothing here is home-made). NCCL on CUDA, gloo on CPU.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from zsbench.runtime.fsutil import atomic_alias, atomic_write
from zsbench.training.config import TrainConfig
from zsbench.training.loss import contrastive_loss
from zsbench.training.model import n_parameters

ARCHS = {"tiny": "zsbench.training.arch_tiny:TinyArch", "t5-clap": "zsbench.training.arch_t5:T5Arch",
         "laion-clap": "zsbench.training.arch_laion:LaionArch"}
LOG_FIELDS = ("step", "lr", "loss", "batch_acc", "scale", "samples_per_s", "elapsed_s", "peak_mem_mb")


@dataclass
class RunOptions:
    """Per-invocation settings that are not part of the recipe (not stored as config)."""

    out_dir: Path
    resume: bool = False
    stop_after: int | None = None   # stop (with a checkpoint) after this many steps of this session
    device: str | None = None
    synthetic: bool = False
    progress: bool = True
    threads: int | None = None
    save: bool = True               # False: no checkpoints or export (throughput measurements)


def _arch(cfg: TrainConfig):
    import importlib

    module, _, name = ARCHS[cfg.architecture].partition(":")
    return getattr(importlib.import_module(module), name)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1, then cosine to 0 at ``total`` (LAION's ``cosine_lr``)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _setup_distributed(device: str | None) -> tuple[int, int, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return rank, world, device


class _Loggers:
    """Console and CSV on rank 0; TensorBoard / W&B when the config lists them."""

    def __init__(self, cfg: TrainConfig, out_dir: Path, rank: int, start: int = 0):
        self.on = rank == 0
        self.cfg, self.csv_path, self.eval_path = cfg, out_dir / "log.csv", out_dir / "eval.jsonl"
        self.tb = self.wandb = None
        if not self.on:
            return
        if self.csv_path.exists():  # resuming: drop rows logged after the checkpoint (they are redone)
            with open(self.csv_path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= start]
            with atomic_write(self.csv_path) as f:
                writer = csv.DictWriter(f, fieldnames=list(LOG_FIELDS))
                writer.writeheader()
                writer.writerows(rows)
        if "tensorboard" in cfg.loggers:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError(f"loggers includes tensorboard but it is not installed ({exc}): "
                                  "pip install tensorboard, or drop it from --set loggers") from None
            self.tb = SummaryWriter(str(out_dir / "tensorboard"))
        if "wandb" in cfg.loggers:
            import wandb

            self.wandb = wandb.init(project="zsbench", name=cfg.name, config=cfg.to_dict(), dir=str(out_dir))

    def step(self, row: dict[str, Any]) -> None:
        if not self.on:
            return
        if "console" in self.cfg.loggers:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        if "csv" in self.cfg.loggers:
            new = not self.csv_path.exists()
            with open(self.csv_path, "a", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(LOG_FIELDS))
                if new:
                    writer.writeheader()
                writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})
        if self.tb:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.tb.add_scalar(f"train/{k}", v, row["step"])
        if self.wandb:
            self.wandb.log(row, step=row["step"])

    def evaluation(self, step: int, name: str, metrics: dict[str, float]) -> None:
        if not self.on:
            return
        shown = {k: v for k, v in metrics.items() if not k.startswith("recall/")}
        print(f"eval step={step} {name}: " + " ".join(f"{k}={v:.4f}" for k, v in shown.items()), flush=True)
        with open(self.eval_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "eval": name, **metrics}) + "\n")
        if self.tb:
            for k, v in metrics.items():
                self.tb.add_scalar(f"eval/{name}/{k}", v, step)
        if self.wandb:
            self.wandb.log({f"eval/{name}/{k}": v for k, v in metrics.items()}, step=step)


def _rng_state(device: str) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    return state


def _set_rng_state(state: dict[str, Any], device: str) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device.startswith("cuda"):
        torch.cuda.set_rng_state(state["cuda"], torch.device(device))


def _eval_name(spec: dict[str, Any]) -> str:
    opts = ",".join(f"{k}={v}" for k, v in sorted(spec.get("task_options", {}).items()))
    return f"{spec.get('task', 'synthworld')}[{opts}]/{spec.get('prompts', 'template')}"


def train(cfg: TrainConfig, run: RunOptions) -> dict[str, Any]:
    """Train ``cfg`` into ``run.out_dir``; returns the final step, metrics and paths."""
    if run.threads:
        torch.set_num_threads(run.threads)
    rank, world, device = _setup_distributed(run.device)
    out = Path(run.out_dir)
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.pt"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        if last.exists() and not run.resume:
            raise FileExistsError(f"{out} already holds a run ({last}); pass --resume to continue it or choose "
                                  "another --out")
    if cfg.batch_size % (world * cfg.grad_accum):
        raise ValueError(f"batch_size {cfg.batch_size} must divide by ranks x grad_accum = {world * cfg.grad_accum}")
    torch.manual_seed(cfg.seed + rank)
    arch = _arch(cfg)(cfg, out, device, rank, world, synthetic=run.synthetic, progress=run.progress)
    model = arch.model.to(device)
    if world > 1 and cfg.sync_bn:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        arch.model = model
    net = arch.wrap().to(device)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(net, device_ids=[torch.device(device).index] if device.startswith("cuda") else None)
    params = [p for p in model.parameters() if p.requires_grad]
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, cfg.warmup_steps, cfg.max_steps))
    cuda = device.startswith("cuda")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.amp) if cuda else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype is torch.float16)

    start = 0
    if run.resume and last.exists():
        state = torch.load(last, map_location="cpu", weights_only=True)
        saved = TrainConfig.from_dict(state["train_config"])
        if saved != cfg:
            raise ValueError(f"{last} was trained with another config; resume with the same one "
                             f"(saved: {state['train_config']})")
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"][min(rank, len(state["rng"]) - 1)], device)
        start = int(state["step"])
    loggers = _Loggers(cfg, out, rank, start)
    if rank == 0:
        with atomic_write(out / "config.json") as f:
            json.dump({"config": cfg.to_dict(), "world_size": world, "device": device,
                       "parameters": n_parameters(model)}, f, indent=1)
        print(f"{cfg.name}: {n_parameters(model):,} trainable parameters, {world} rank(s) on {device}, "
              f"steps {start}..{cfg.max_steps}", flush=True)

    def save(step: int) -> Path:
        rngs = [None] * world if world > 1 else None
        mine = _rng_state(device)
        if world > 1:
            dist.all_gather_object(rngs, mine)
        else:
            rngs = [mine]
        if rank == 0:
            state = {"config": getattr(arch, "config_dict", lambda: {})(), "train_config": cfg.to_dict(),
                     "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "step": step, "rng": rngs}
            if not state["config"]:
                del state["config"]
            path = ckpt_dir / f"step-{step:07d}.pt"
            with atomic_write(path, "wb") as f:
                torch.save(state, f)
            atomic_alias(path, last)
        if world > 1:
            dist.barrier()
        return last

    def evaluate(step: int, checkpoint: Path | None) -> dict[str, dict[str, float]]:
        results = {}
        if rank == 0:
            for spec in cfg.eval:
                metrics = arch.evaluate(dict(spec), checkpoint)
                results[_eval_name(spec)] = metrics
                loggers.evaluation(step, _eval_name(spec), metrics)
        if world > 1:
            dist.barrier()
        return results

    net.train()
    micro = cfg.batch_size // world // cfg.grad_accum
    stop = cfg.max_steps if run.stop_after is None else min(cfg.max_steps, start + run.stop_after)
    t0, seen, step, paused = time.perf_counter(), 0, start, 0.0  # paused: checkpoints and evaluations
    steady: tuple[float, int, float] | None = None  # (time, samples, paused) after the first 10 steps
    trained_until, paused_then = t0, 0.0
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    evals: dict[str, dict[str, float]] = {}
    for step in range(start, stop):
        audio, text = arch.batch(step)
        optimizer.zero_grad(set_to_none=True)
        stats: dict[str, float] = {}
        for k in range(cfg.grad_accum):
            a_k, t_k = _slice(audio, k, micro), _slice(text, k, micro)
            sync = contextlib.nullcontext() if (world == 1 or k == cfg.grad_accum - 1) else net.no_sync()
            with sync, torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None):
                a_emb, t_emb, scale = net(_to(a_k, device), _to(t_k, device))
                loss, stats = contrastive_loss(a_emb, t_emb, scale)
                scaler.scale(loss / cfg.grad_accum).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        with torch.no_grad():  # CLIP's clamp of the temperature
            for name in ("logit_scale", "logit_scale_a"):
                p = getattr(model, name, None)
                if p is not None:
                    p.clamp_(0, math.log(100))
        seen += cfg.batch_size
        done = step + 1
        timed = done - start == 10 or done % cfg.log_every == 0 or done == stop
        if timed:
            if cuda:
                torch.cuda.synchronize(device)
            trained_until, paused_then = time.perf_counter(), paused
        if done - start == 10:  # steady state from here: the allocator and autotuning have settled
            steady = (trained_until, seen, paused)
        if done % cfg.log_every == 0 or done == stop:
            elapsed = trained_until - t0
            row = {"step": done, "lr": scheduler.get_last_lr()[0], **stats,
                   "samples_per_s": seen / max(elapsed - paused, 1e-9), "elapsed_s": elapsed}
            if cuda:
                row["peak_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
            loggers.step(row)
        ckpt, pause_start = None, time.perf_counter()
        if run.save and (done % cfg.checkpoint_every == 0 or done == stop):
            ckpt = save(done)
        if cfg.eval and ((cfg.eval_every and done % cfg.eval_every == 0 and done != cfg.max_steps)
                         or done == cfg.max_steps):
            evals = evaluate(done, ckpt or save(done))
        paused += time.perf_counter() - pause_start
    final = {"step": stop, "checkpoint": str(last) if run.save else None, "evals": evals, "world_size": world,
             "device": device,
             "samples_per_s": seen / max(trained_until - t0 - paused_then, 1e-9)}
    if steady is not None and seen > steady[1]:  # training time only: checkpoints and evaluations excluded
        final["samples_per_s_after_10_steps"] = (seen - steady[1]) / max(
            trained_until - steady[0] - (paused_then - steady[2]), 1e-9)
    if cuda:
        final["peak_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if rank == 0 and stop == cfg.max_steps and run.save:
        arch.export(out / arch.EXPORT_NAME, {"final_step": stop, "evals": evals})
        final["export"] = str(out / arch.EXPORT_NAME)
    return final


def _slice(x, k: int, n: int):
    if isinstance(x, dict):
        return {key: v[k * n:(k + 1) * n] for key, v in x.items()}
    return x[k * n:(k + 1) * n]


def _to(x, device: str):
    if isinstance(x, dict):
        return {key: v.to(device, non_blocking=True) for key, v in x.items()}
    return x.to(device, non_blocking=True)
