"""One training run from a named config and the command line's adjustments: what ``zsbench
train`` and ``python -m zsbench.training`` (the form torchrun launches on each rank) both call."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from zsbench.training.config import CONFIGS, get_config
from zsbench.training.train import RunOptions, train


def launch(config: str, out: Path | None = None, overrides: Iterable[str] = (), max_steps: int | None = None,
           batch_size: int | None = None, resume: bool = False, stop_after: int | None = None,
           synthetic: bool = False, device: str | None = None, threads: int | None = None, save: bool = True,
           progress: bool = True) -> dict[str, Any]:
    """Train ``config`` with ``overrides`` (``KEY=VALUE``, JSON values) into ``out`` (default
    ``runs/NAME``). ``max_steps`` also caps warm-up at a tenth of it and the checkpoint interval
    at it, so a short run still warms up and ends with a checkpoint; a ``synthetic`` run (random
    inputs of the real shapes, for throughput) evaluates nothing."""
    if config not in CONFIGS:
        raise ValueError(f"invalid choice: {config!r} (choose from {', '.join(sorted(CONFIGS))})")
    cfg = get_config(config).with_overrides(list(overrides))
    if max_steps is not None:
        cfg = cfg.replace(max_steps=max_steps, checkpoint_every=min(cfg.checkpoint_every, max_steps),
                          warmup_steps=min(cfg.warmup_steps, max(1, max_steps // 10)))
    if batch_size is not None:
        cfg = cfg.replace(batch_size=batch_size)
    if synthetic:
        cfg = cfg.replace(eval=())
    return train(cfg, RunOptions(out_dir=out or Path("runs") / cfg.name, resume=resume, stop_after=stop_after,
                                 device=device, synthetic=synthetic, progress=progress, threads=threads, save=save))
