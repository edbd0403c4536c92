"""What the tiny model trains on, computed once and cached: each clip's log-mel and the frozen
MiniLM embedding of its caption and every rewrite.

The text tower is frozen, so embedding the same sentences again every step would only burn the
CPU; the same holds for the fixed log-mel front end. The cache file is keyed by the CSV's
content and the feature settings, and written atomically.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from zsbench.runtime.fsutil import atomic_write
from zsbench.runtime.progress import bar
from zsbench.models.tinyclap import HOP, SR
from zsbench.training.data import Example

WINDOW_S = 10.0                  # the adapter's window: 251 frames
MAX_S = 12.0                     # longer clips are cut here (random 10 s crops are taken in training)
WINDOW_FRAMES = int(WINDOW_S * SR) // HOP + 1
MAX_FRAMES = int(MAX_S * SR) // HOP + 1


def load_waveform(path: str) -> np.ndarray:
    """Mono float32 at 16 kHz, short clips repeat-padded to the 10 s window (as the harness
    fills them at evaluation)."""
    import soundfile as sf

    from zsbench.data.audio import fill_short, resample
    from zsbench.training.data import read_audio_bytes

    try:
        audio, rate = sf.read(read_audio_bytes(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types; name the file either way
        raise ValueError(f"{path}: cannot decode audio ({exc}); fix or drop this row of the training data") from None
    audio = resample(audio.mean(1), rate, SR)
    n = int(WINDOW_S * SR)
    if len(audio) < n:
        audio = fill_short(audio, n, "repeatpad")
    return audio[: int(MAX_S * SR)]


def _key(examples: Sequence[Example], n_mels: int, k: int) -> str:
    h = hashlib.sha256(f"tiny-features-v1|{n_mels}|{k}|{SR}|{HOP}".encode())
    for e in examples:
        h.update(f"{e.path}\0{e.caption}\0{chr(1).join(e.rewrites[:k])}\n".encode())
    return h.hexdigest()[:16]


def compute(examples: Sequence[Example], n_mels: int, k: int, cache_dir: Path, progress: bool = True
            ) -> dict[str, np.ndarray]:
    """``mel`` (N, n_mels, MAX_FRAMES) float16, ``frames`` (N,), ``text`` (N, 1 + k, 384) float32
    (row 0 the caption; rows past a clip's own rewrites repeat its caption and are never drawn),
    ``n_rewrites`` (N,)."""
    path = Path(cache_dir) / f"tiny-features-{_key(examples, n_mels, k)}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    import torch

    from zsbench.models.tinyclap import LogMel, encode_texts

    frontend = LogMel(n_mels)
    mel = np.zeros((len(examples), n_mels, MAX_FRAMES), dtype=np.float16)
    frames = np.zeros(len(examples), dtype=np.int64)
    with bar("log-mels of the training clips (once)", len(examples), progress) as advance, torch.no_grad():
        for i, e in enumerate(examples):
            m = frontend(torch.from_numpy(load_waveform(e.path))[None])[0].numpy()
            frames[i] = m.shape[1]
            mel[i, :, :m.shape[1]] = m
            advance(1)
    n_rw = np.array([min(len(e.rewrites), k) for e in examples], dtype=np.int64)
    texts = [t for e in examples for t in [e.caption, *[e.rewrites[j] if j < len(e.rewrites) else e.caption
                                                         for j in range(k)]]]
    emb = encode_texts(texts).reshape(len(examples), 1 + k, -1)
    out = {"mel": mel, "frames": frames, "text": emb.astype(np.float32), "n_rewrites": n_rw}
    with atomic_write(path, "wb") as f:
        np.savez(f, **out)
    return out


def crop(mel: np.ndarray, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random WINDOW_FRAMES-long crop of each clip (clips are at least that long)."""
    start = np.floor(rng.random(len(frames)) * np.maximum(frames - WINDOW_FRAMES + 1, 1)).astype(np.int64)
    return np.stack([m[:, s:s + WINDOW_FRAMES] for m, s in zip(mel, start)]).astype(np.float32)


def norm_stats(mel: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and std over every real frame of the corpus."""
    total = np.zeros(mel.shape[1]), np.zeros(mel.shape[1])
    count = 0
    for m, f in zip(mel, frames):
        x = m[:, :f].astype(np.float64)
        total[0][:] += x.sum(1)
        total[1][:] += (x ** 2).sum(1)
        count += f
    mean = total[0] / count
    return mean.astype(np.float32), np.sqrt(np.maximum(total[1] / count - mean ** 2, 1e-8)).astype(np.float32)
