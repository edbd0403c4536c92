"""The ``laion-clap`` architecture's side of training (``laion-base``): LAION-CLAP's own layout,
HTSAT-tiny/base (optional aff_2d fusion) and a RoBERTa text tower, built by ``laion_clap``'s
``CLAP_Module`` exactly as the ``laion-clap-*`` adapters build it (random initial weights, from
the roberta-base config), so the exported ``{"state_dict", ...}`` loads there with ``--checkpoint``.

Everything but the model is :class:`~zsbench.training.arch_t5.T5Arch`'s: the same audio path
(``get_audio_features``: 48 kHz, int16 round trip, fusion chunks, repeat-pad), caption
augmentation, ``--synthetic`` batches, loss on the projected embeddings with ``logit_scale_a``
(``audio_transform``, ``text_transform`` and ``logit_scale_t`` frozen, as LAION's default
training leaves them out of the loss). Text is tokenised by the package's own
``CLAP_Module.tokenizer`` (RoBERTa, padding to 77, truncation), as its text branch expects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from zsbench.training.arch_t5 import T5Arch
from zsbench.training.config import TrainConfig
from zsbench.training.loss import metrics_of

AMODELS = ("HTSAT-tiny", "HTSAT-base")
MODEL_KEYS = ("amodel", "fusion", "audio_init")


@dataclass(frozen=True)
class LaionConfig:
    """The architecture a ``laion-clap-*`` adapter rebuilds: audio tower and fusion (the text
    tower is always roberta-base, the projections 512-d)."""

    amodel: str = "HTSAT-base"
    fusion: bool = True

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> "LaionConfig":
        unknown = sorted(set(model) - set(MODEL_KEYS))
        if unknown:
            raise ValueError(f"laion-clap model: unknown option(s) {unknown}; known: {', '.join(MODEL_KEYS)}")
        cfg = cls(amodel=str(model.get("amodel", cls.amodel)), fusion=bool(model.get("fusion", cls.fusion)))
        if cfg.amodel not in AMODELS:
            raise ValueError(f"laion-clap model: amodel {cfg.amodel!r}: choose {', '.join(AMODELS)}")
        return cfg


def adapter_class(config: LaionConfig):
    """The registered ``laion-clap-*`` adapter with this audio tower and fusion setting; LAION
    published no HTSAT-base fusion checkpoint, so for that one a subclass of the HTSAT-tiny fusion
    adapter with the base tower is made (same loading, features and checks)."""
    from zsbench.adapters import laion

    for name, cls in laion.VARIANTS.items():
        if name != laion.ALIAS[0] and cls.amodel == config.amodel and cls.fusion == config.fusion:
            return cls
    base = next(c for c in laion.VARIANTS.values() if c.fusion == config.fusion)
    name = f"laion-clap-trained-{config.amodel.lower()}{'-fusion' if config.fusion else ''}"
    meta = dataclasses.replace(base.meta, name=name, description=f"LAION-CLAP layout trained by zsbench: "
                               f"{config.amodel} + RoBERTa, {'aff_2d fusion' if config.fusion else 'no fusion'}")
    return type("LaionClapTrained", (base,), {"meta": meta, "amodel": config.amodel, "fusion": config.fusion})


class LaionArch(T5Arch):
    EXPORT_NAME = "model.pt"  # {"state_dict", "config", "train_config"}: what `--checkpoint` of laion-clap-* loads

    def __init__(self, cfg: TrainConfig, out_dir: Path, device: str, rank: int, world: int,
                 synthetic: bool = False, progress: bool = True):
        super().__init__(cfg, out_dir, device, rank, world, synthetic, progress)
        self.audio_cfg = dict(self.clap.model_cfg["audio_cfg"])

    def build_model(self) -> nn.Module:
        from zsbench.adapters.laion import build_clap

        self.config = LaionConfig.from_model(self.cfg.model)
        self.clap = build_clap(self.config.amodel, self.config.fusion)  # CLAP_Module: model + its tokenizer
        return self.clap.model

    def load_tokenizer(self):
        return self.clap.tokenize

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """``CLAP_Module.tokenizer`` itself: RoBERTa, padding="max_length", max_length 77, truncation."""
        return dict(self.clap.tokenizer(list(texts)))

    def vocab_size(self) -> int:
        return int(self.model.text_branch.config.vocab_size)

    def evaluate(self, spec: dict[str, Any], checkpoint: Path | None) -> dict[str, float]:
        """Through the matching ``laion-clap-*`` adapter on the checkpoint just written."""
        if self.synthetic or checkpoint is None:
            return {}
        import zsbench
        from zsbench.adapters.base import LoadOptions

        adapter = adapter_class(self.config)(LoadOptions(checkpoint=str(checkpoint), device=self.device))
        result = zsbench.evaluate(adapter, store=False, use_cache=False, **spec)
        return metrics_of(result.report)

    def export(self, path: Path, log: dict[str, Any]) -> None:
        from zsbench.runtime.fsutil import atomic_write

        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        with atomic_write(path, "wb") as f:
            torch.save({"config": dataclasses.asdict(self.config), "train_config": self.cfg.to_dict(),
                        "state_dict": state}, f)
