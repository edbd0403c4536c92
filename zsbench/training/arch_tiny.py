"""The ``tiny`` architecture's side of training: data from cached features, the in-memory
adapter for evaluation, and the shipped-weights export (safetensors with the config inside;
the format itself, ``save_tiny`` / ``load_tiny``, lives in :mod:`zsbench.models.tinyclap`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.models.tinyclap import TinyClap, save_tiny
from zsbench.training import features
from zsbench.training.config import TrainConfig
from zsbench.training.loss import metrics_of
from zsbench.training.data import CaptionAugmentation, Example, batch_indices, read_csv, read_shards, step_rng


def examples_for(cfg: TrainConfig, out_dir: Path, progress: bool) -> list[Example]:
    """The configured corpus; the sound world's seen-class corpus is rendered on first use."""
    if cfg.train_csv:
        return read_csv(cfg.train_csv)
    if cfg.shards:
        return read_shards(cfg.shards)
    if cfg.synthworld_corpus:
        from zsbench.runtime.paths import data_dir
        from zsbench.synthworld.corpus import CORPUS_VERSION, write_corpus

        c = cfg.synthworld_corpus
        root = data_dir() / "synthworld-corpus" / f"v{CORPUS_VERSION}-seen-seed{c['seed']}-n{c['n_per_class']}"
        return read_csv(write_corpus(root, int(c["n_per_class"]), int(c["seed"]), progress=progress))
    raise ValueError(f"config {cfg.name}: no training data; set train_csv, shards or synthworld_corpus")


class TinyForward(nn.Module):
    """What DDP wraps: the model's forward on a batch of (log-mel crops, MiniLM embeddings)."""

    def __init__(self, model: TinyClap):
        super().__init__()
        self.model = model

    def forward(self, mel: torch.Tensor, text: torch.Tensor):
        return self.model.encode_mel(mel), self.model.encode_text(text), self.model.logit_scale


class TinyArch:
    EXPORT_NAME = "model.safetensors"

    def __init__(self, cfg: TrainConfig, out_dir: Path, device: str, rank: int, world: int,
                 synthetic: bool = False, progress: bool = True):
        if synthetic:
            raise ValueError("--synthetic is for the GPU-scale configs; tiny-cpu trains on the sound world")
        self.cfg, self.rank, self.world, self.device = cfg, rank, world, device
        self.model = TinyClap(**cfg.model)
        examples = examples_for(cfg, out_dir, progress and rank == 0)
        from zsbench.runtime.paths import models_dir

        self.feats = features.compute(examples, self.model.cfg["n_mels"], cfg.n_rewrites,
                                      models_dir() / "training-cache", progress and rank == 0)
        self.model.set_norm(*features.norm_stats(self.feats["mel"], self.feats["frames"]))
        self.aug = CaptionAugmentation(cfg.keep_original_p, cfg.n_rewrites)
        self.n = len(examples)

    def wrap(self) -> nn.Module:
        return TinyForward(self.model)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's share of step ``step``: random 10 s crops and augmented captions, drawn for
        the whole global batch and then sliced, so the data does not depend on the rank count."""
        idx = batch_indices(self.cfg.seed, step, self.n, self.cfg.batch_size)
        rng = step_rng(self.cfg.seed, step)
        mel = features.crop(self.feats["mel"][idx], self.feats["frames"][idx], rng)
        choice = self.aug.choose(rng, self.feats["n_rewrites"][idx])
        text = self.feats["text"][idx, choice]
        share = self.cfg.batch_size // self.world
        sl = slice(self.rank * share, (self.rank + 1) * share)
        return torch.from_numpy(mel[sl]), torch.from_numpy(np.ascontiguousarray(text[sl]))

    def evaluate(self, spec: dict[str, Any], checkpoint: Path | None) -> dict[str, float]:
        import zsbench
        from zsbench.adapters.demo import DemoModel

        adapter = DemoModel.from_model(self.model, self.cfg.to_dict())
        was = self.model.training
        self.model.eval()
        try:
            result = zsbench.evaluate(adapter, store=False, use_cache=False, workers=0, progress=False, **spec)
        finally:
            self.model.train(was)
        return metrics_of(result.report)

    def export(self, path: Path, log: dict[str, Any]) -> None:
        save_tiny(self.model, self.cfg.to_dict(), path, log)
