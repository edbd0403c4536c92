"""HEAR-style conformance check for an adapter: run it on white noise and verify the contract.

Every registered adapter is run through it on seeded random weights in the tests
(tests/test_conformance.py); a third-party plug-in can run it too
(``validate(MyAdapter(LoadOptions()))``) before trusting its numbers.
"""

from __future__ import annotations

import numpy as np

from zsbench.adapters.base import AudioTextModel, ModelMeta


class ConformanceError(AssertionError):
    pass


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConformanceError(message)


def _check_embeddings(x, n: int, dim: int, what: str) -> None:
    _check(isinstance(x, np.ndarray), f"{what} must return a numpy array, got {type(x).__name__}")
    _check(x.dtype == np.float32, f"{what} must return float32, got {x.dtype}")
    _check(x.shape == (n, dim), f"{what} returned shape {x.shape}, expected {(n, dim)} (meta.embed_dim={dim})")
    _check(bool(np.isfinite(x).all()), f"{what} returned NaN or Inf")
    norms = np.linalg.norm(x, axis=1)
    _check(bool(np.allclose(norms, 1.0, atol=1e-4)), f"{what} must be L2-normalised; norms {norms.round(4)}")


def validate(model: AudioTextModel, batch: int = 2, seed: int = 0) -> None:
    _check(isinstance(model, AudioTextModel), "the adapter does not implement AudioTextModel")
    meta = model.meta
    _check(isinstance(meta, ModelMeta), "meta must be a ModelMeta")
    fp = model.fingerprint()
    _check(isinstance(fp, str) and len(fp) >= 8 and fp == model.fingerprint(), "fingerprint must be a stable string")
    n = meta.clip.samples(meta.sample_rate)
    noise = np.random.default_rng(seed).uniform(-0.1, 0.1, (batch, n)).astype(np.float32)
    seeds = list(range(batch))
    audio = model.embed_audio(noise, seeds=seeds)
    _check_embeddings(audio, batch, meta.embed_dim, "embed_audio")
    again = model.embed_audio(noise, seeds=seeds)
    _check(bool(np.allclose(audio, again, atol=1e-5)), "embed_audio is not deterministic for the same input and seeds")
    single = model.embed_audio(noise[:1], seeds=seeds[:1])
    _check(bool(np.allclose(single[0], audio[0], atol=1e-4)), "an embedding depends on the rest of its batch")
    texts = ["a dog barks", "rain on a tin roof", "a dog barks"]
    text = model.embed_text(texts)
    _check_embeddings(text, len(texts), meta.embed_dim, "embed_text")
    _check(bool(np.allclose(text[0], text[2], atol=1e-5)), "embed_text is not deterministic")
    _check(not np.allclose(text[0], text[1], atol=1e-3), "embed_text gives the same embedding to different texts")
