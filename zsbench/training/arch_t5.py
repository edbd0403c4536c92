"""The ``t5-clap`` architecture's side of training (``reclap-base``): HTSAT (+ aff_2d fusion)
from ``laion-clap`` and a T5 encoder, built exactly as the ``t5-clap`` adapter builds it, so its
checkpoints (``{"config", "state_dict", ...}``) load there unchanged.

Audio goes through the package's own ``get_audio_features`` (48 kHz, int16 round trip, fusion
chunks, repeat-pad), as the authors' loader does. ``--synthetic`` replaces data and tokenizer
with random mels and token ids of the real shapes, for throughput and memory measurements on a
machine with neither data nor Hub access.

As in LAION-CLAP's default (non ``--clap-mlploss``) training, the loss uses the projected
embeddings and ``logit_scale_a``; ``audio_transform``, ``text_transform`` and ``logit_scale_t``
take no part and are frozen (DDP then needs no unused-parameter search).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.training.config import TrainConfig
from zsbench.training.loss import metrics_of
from zsbench.training.data import CaptionAugmentation, batch_indices, step_rng
from zsbench.training.model import build, t5_clap_config

AUDIO_SR = 48000
MAX_LEN = 480000  # 10 s at 48 kHz
N_TOKENS = 77


def import_laion_clap():
    """``laion_clap``, importable without the Hub.

    Its ``training/data.py`` loads the BERT, RoBERTa and BART tokenizers from the Hub at import
    time, for text towers this recipe never builds. Where they cannot be loaded (an offline GPU
    machine), the import is retried with those three loaders returning a placeholder that fails
    only if called.
    """
    from unittest import mock

    import transformers

    from zsbench.adapters import laion

    try:
        return laion._import_laion_clap()
    except (OSError, TypeError, ValueError):
        pass

    class Unavailable:
        def __init__(self, name: str):
            self.name = name

        def __call__(self, *args: Any, **kwargs: Any):
            raise RuntimeError(f"the {self.name} tokenizer was not loaded (no Hub access); the T5 recipe does "
                               "not use it")

    patches = [mock.patch.object(getattr(transformers, name), "from_pretrained",
                                 classmethod(lambda cls, repo, *a, **k: Unavailable(repo)))
               for name in ("BertTokenizer", "RobertaTokenizer", "BartTokenizer")]
    for patch in patches:
        patch.start()
    try:
        return laion._import_laion_clap()
    finally:
        for patch in patches:
            patch.stop()


def init_audio_branch(model: nn.Module, path: Path) -> None:
    """Start the audio tower from a pretrained one, as the paper does (HTSAT-base): the
    ``audio_branch.*`` weights of a LAION-CLAP checkpoint (or of one of ours), every one of them
    required to fit."""
    from zsbench.adapters import laion

    state = laion.read_state_dict(path)
    audio = {k[len("audio_branch."):]: v for k, v in state.items() if k.startswith("audio_branch.")}
    if not audio:
        raise ValueError(f"{path}: no audio_branch.* weights; pass a LAION-CLAP checkpoint with the same amodel "
                         "(e.g. music_speech_audioset_epoch_15_esc_89.98.pt for HTSAT-base) as model.audio_init")
    missing, unexpected = model.audio_branch.load_state_dict(audio, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: its audio tower does not fit this model's ({len(missing)} missing, e.g. "
                         f"{missing[:3]}; {len(unexpected)} unexpected, e.g. {unexpected[:3]}); check amodel and "
                         "fusion")


class T5Forward(nn.Module):
    def __init__(self, clap: nn.Module):
        super().__init__()
        self.clap = clap

    def forward(self, audio: dict[str, torch.Tensor], text: dict[str, torch.Tensor]):
        device = self.clap.logit_scale_a.device
        a = self.clap.audio_projection(self.clap.encode_audio(audio, device=device)["embedding"])
        t = self.clap.encode_text(text, device=device)
        return a, t, self.clap.logit_scale_a


def _collate(items: list[dict[str, Any]], fusion: bool) -> dict[str, torch.Tensor]:
    """Batch the package's per-clip feature dicts; HTSAT reads only the fused mels when fusing,
    so the 10 s waveforms are not sent to the device then."""
    out = {}
    for key in ("mel_fusion",) if fusion else ("waveform",):
        if key in items[0]:
            out[key] = torch.stack([torch.as_tensor(x[key]) for x in items])
    out["longer"] = torch.cat([torch.as_tensor(x["longer"]).reshape(1) for x in items]).bool()
    return out


class T5Arch:
    EXPORT_NAME = "model.pt"  # {"config", "state_dict"}: what `zsbench run --model t5-clap --checkpoint` loads

    def __init__(self, cfg: TrainConfig, out_dir: Path, device: str, rank: int, world: int,
                 synthetic: bool = False, progress: bool = True):
        self.cfg, self.rank, self.world, self.device, self.synthetic = cfg, rank, world, device, synthetic
        import_laion_clap()
        self.model = self.build_model()
        if cfg.model.get("audio_init"):
            init_audio_branch(self.model, Path(cfg.model["audio_init"]))
        for frozen in (self.model.audio_transform, self.model.text_transform):
            frozen.requires_grad_(False)
        self.model.logit_scale_t.requires_grad_(False)
        self.aug = CaptionAugmentation(cfg.keep_original_p, cfg.n_rewrites)
        if synthetic:
            self.examples, self.n = [], 1 << 20
        else:
            from zsbench.training.arch_tiny import examples_for

            self.examples = examples_for(cfg, out_dir, progress and rank == 0)
            self.n = len(self.examples)
        self.tokenizer = None if synthetic else self.load_tokenizer()
        self.audio_cfg = dataclasses.asdict(self.model.audio_cfg)

    def build_model(self) -> nn.Module:
        """The CLAP to train; sets ``self.config`` (what the exported checkpoint carries)."""
        self.config = t5_clap_config(self.cfg.model)
        return build("t5-clap", self.cfg.model)

    def load_tokenizer(self):
        from zsbench.adapters.reclap import load_tokenizer

        return load_tokenizer(self.cfg.model.get("tokenizer"))

    def config_dict(self) -> dict[str, Any]:
        """Saved as the checkpoint's ``"config"``: the architecture the ``t5-clap`` adapter rebuilds."""
        return dataclasses.asdict(self.config)

    def wrap(self) -> nn.Module:
        return T5Forward(self.model)

    def _audio(self, path: str, seed: int) -> dict[str, Any]:
        import soundfile as sf

        from zsbench.adapters import laion
        from zsbench.adapters.base import numpy_global_seed
        from zsbench.data.audio import int16_roundtrip, resample
        from zsbench.training.data import read_audio_bytes

        wav, rate = sf.read(read_audio_bytes(path), dtype="float32", always_2d=True)
        wav = int16_roundtrip(resample(wav[:, 0], rate, AUDIO_SR))  # first channel, as the authors' loader
        get_audio_features = laion._import_laion_clap().training.data.get_audio_features
        with numpy_global_seed(seed):  # the package picks fusion chunks with NumPy's global generator
            return get_audio_features({}, torch.from_numpy(np.ascontiguousarray(wav)), MAX_LEN,
                                      data_truncating="fusion" if self.config.fusion else "rand_trunc",
                                      data_filling="repeatpad", audio_cfg=self.audio_cfg)

    def batch(self, step: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        share = self.cfg.batch_size // self.world
        rng = step_rng(self.cfg.seed, step, stream=1 + self.rank)
        if self.synthetic:  # made on the device: host-side generation and copies would be what is measured
            g = torch.Generator(device=self.device)
            g.manual_seed(self.cfg.seed * 1_000_003 + step * 101 + self.rank)
            frames = self.audio_cfg["clip_samples"] // self.audio_cfg["hop_size"] + 1
            mels, dev = self.audio_cfg["mel_bins"], self.device
            audio = {"longer": torch.rand(share, generator=g, device=dev) < 0.5}
            if self.config.fusion:
                audio["mel_fusion"] = torch.randn(share, 4, frames, mels, generator=g, device=dev)
            else:
                audio["waveform"] = 0.1 * torch.randn(share, MAX_LEN, generator=g, device=dev)
            ids = torch.randint(2, self.vocab_size(), (share, N_TOKENS), generator=g, device=dev)
            return audio, {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        idx = batch_indices(self.cfg.seed, step, self.n, self.cfg.batch_size, self.rank, self.world)
        choice = self.aug.choose(rng, [len(self.examples[i].rewrites) for i in idx])
        texts = [self.examples[i].caption if c == 0 else self.examples[i].rewrites[c - 1] for i, c in zip(idx, choice)]
        seeds = rng.integers(0, 2**31, len(idx))
        audio = _collate([self._audio(self.examples[i].path, int(s)) for i, s in zip(idx, seeds)], self.config.fusion)
        return audio, self.tokenize(texts)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """The text tower's input, as the ``t5-clap`` adapter tokenises (subclasses: their tower's)."""
        from zsbench.adapters.reclap import TOKENIZER

        return dict(self.tokenizer(texts, return_tensors="pt", **TOKENIZER))

    def vocab_size(self) -> int:
        """Token ids of ``--synthetic`` batches are drawn below this."""
        return int(self.config.t5_config["vocab_size"])

    def evaluate(self, spec: dict[str, Any], checkpoint: Path | None) -> dict[str, float]:
        """Through the ``t5-clap`` adapter on the checkpoint just written: the exact ``zsbench
        run --model t5-clap --checkpoint`` path."""
        if self.synthetic or checkpoint is None:
            return {}
        import zsbench

        options = {"tokenizer": self.cfg.model["tokenizer"]} if self.cfg.model.get("tokenizer") else {}
        result = zsbench.evaluate("t5-clap", checkpoint=str(checkpoint), device=self.device, store=False,
                                  use_cache=False, model_options=options, **spec)
        return metrics_of(result.report)

    def export(self, path: Path, log: dict[str, Any]) -> None:
        from zsbench.runtime.fsutil import atomic_write

        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        with atomic_write(path, "wb") as f:
            torch.save({"config": dataclasses.asdict(self.config), "state_dict": state}, f)
