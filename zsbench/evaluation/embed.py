"""The expensive pass: decode clips in worker processes and embed them, through the cache.

Only clips missing from the cache are decoded; each batch is committed to the cache as soon as
it is embedded, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from zsbench.adapters.base import AudioTextModel, l2_normalize
from zsbench.data.audio import BadAudioError, Preprocessing, clip_seed, prepare_clip
from zsbench.runtime.batch_slots import SlotRing
from zsbench.runtime.device_feed import DeviceFeeder, Pending
from zsbench.evaluation.cache import EmbeddingCache, as_stored, namespace
from zsbench.runtime.precision import autocast
from zsbench.runtime.progress import bar


PREFETCH = 2  # batches each decode worker prepares ahead
# Tests set this to exercise the device-feed path (staging buffers, not pinned) on the CPU; a run
# on the CPU never takes it, so CPU runs keep the plain numpy path.
FEED_ON_CPU = False


@dataclass
class AudioPass:
    embeddings: dict[int, np.ndarray]  # item index -> (D,)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)
    hits: int = 0
    computed: int = 0


class _Batches:
    """Map-style dataset over whole batches, item ``(batch number, clip indices)``, so that a
    worker knows which shared slot its batch goes to. Bad clips come back as problems instead of
    raising, so that the main process decides between --on-bad-audio error and skip."""

    def __init__(self, paths: Sequence[Path], keys: Sequence[str], prep: Preprocessing, ring: SlotRing | None):
        self.paths, self.keys, self.prep, self.ring = list(paths), list(keys), prep, ring

    def __getitem__(self, item: tuple[int, list[int]]):
        batch, indices = item
        return _collate(batch, [(i, *self._clip(i)) for i in indices], self.ring)

    def _clip(self, i: int):
        import torch

        try:
            return torch.from_numpy(prepare_clip(self.paths[i], self.prep, self.keys[i])), None
        except BadAudioError as exc:
            return None, exc.problem


def _collate(batch: int, clips, ring: SlotRing | None):
    """Runs in the worker: the batch's windows as ONE tensor when they share a length (always,
    but for fusion models' whole clips), written once into memory the main process reads in
    place: the batch's slot of ``ring`` (then only its row count is sent), or else a fresh
    shared-memory block. The main process also drives the model; copying every clip again
    there (np.stack) made it the bottleneck that kept extra workers from helping.

    Returns (batch, dataset indices, windows per clip, windows or slot rows, [(index, problem)])."""
    import torch

    good = [(i, t) for i, t, _ in clips if t is not None]
    bad = [(i, problem) for i, t, problem in clips if t is None]
    counts = [len(t) for _, t in good]
    in_worker = torch.utils.data.get_worker_info() is not None
    if good and len({tuple(t.shape[1:]) for _, t in good}) == 1:
        shape = (sum(counts), *good[0][1].shape[1:])
        if in_worker and ring is not None and len(shape) == 2 and ring.fits(*shape):
            torch.cat([t for _, t in good], out=ring.acquire(batch)[:shape[0]])
            return batch, [i for i, _ in good], counts, shape[0], bad
        windows = torch.empty(shape, dtype=good[0][1].dtype)
        if in_worker:
            windows.share_memory_()  # written once, in place: sending it to the main process copies nothing
        torch.cat([t for _, t in good], out=windows)
    else:
        windows = [w for _, t in good for w in t]
    return batch, [i for i, _ in good], counts, windows, bad


def _identity(item):
    return item


def default_workers(device: str = "cpu") -> int:
    """Decode in worker processes when the model runs on an accelerator, so the CPU keeps it
    fed; in-process when the model itself runs on the CPU, where decode workers would only take
    cores from the forward pass (measured: 8.4 vs 11.1 clips/s for LAION HTSAT-tiny on 2 cores)."""
    return 0 if device == "cpu" else max(0, min(4, (os.cpu_count() or 1)))


def embed_audio(model: AudioTextModel, paths: Sequence[Path], prep: Preprocessing, cache: EmbeddingCache,
                batch_size: int = 32, workers: int | None = None, on_bad_audio: str = "error",
                progress: bool = True, device: str = "cpu", store_dtype: str = "float32",
                precision: str = "fp32") -> AudioPass:
    """Embeddings of ``paths`` (index -> vector), from the cache where present.

    ``store_dtype``: precision of the cached rows (``zsbench.evaluation.cache.DTYPE_FOR_METRIC``); fresh
    vectors are rounded to it when cached, so the run scores what a re-run will read.
    """
    import torch
    from torch.utils.data import DataLoader

    from zsbench.runtime.allocator import keep_buffers_on_heap

    keep_buffers_on_heap()
    keys = cache.clip_keys(paths) if cache.enabled else [str(p) for p in paths]
    use_cache = cache.enabled and prep.deterministic  # a random crop is a new input every run
    space = namespace(prep.key(), store_dtype)
    found = cache.get_audio(space, keys) if use_cache else {}
    result = AudioPass(embeddings={i: found[k] for i, k in enumerate(keys) if k in found})
    result.hits = len(result.embeddings)
    todo = [i for i in range(len(paths)) if i not in result.embeddings]
    if not todo:
        return result
    workers = default_workers(device) if workers is None else workers
    batches = [(b, list(range(s, min(s + batch_size, len(todo)))))
               for b, s in enumerate(range(0, len(todo), batch_size))]
    feed = workers > 0 and _feeds_device(model, device)
    ring = _ring(prep, batch_size, workers, feed) if workers else None
    feeder = _feeder(ring, device) if feed else None
    dataset = _Batches([paths[i] for i in todo], [keys[i] for i in todo], prep, ring)
    loader = DataLoader(dataset, batch_size=None, sampler=batches, num_workers=workers, collate_fn=_identity,
                        prefetch_factor=PREFETCH if workers else None, persistent_workers=False)
    try:
        with bar("embedding audio", len(todo), progress) as advance, torch.inference_mode(), \
                autocast(precision, device):
            for (batch, good, counts, windows, bad), pending in _copied_ahead(loader, feeder):
                for j, problem in bad:
                    if on_bad_audio != "skip":
                        raise BadAudioError(dataset.paths[j], problem)
                    result.skipped.append((str(dataset.paths[j]), problem))
                if good and pending is not None:  # on the device already: the adapter takes it as a tensor
                    emb = _embed_windows(model, prep, [dataset.keys[j] for j in good], counts,
                                         feeder.ready(pending), batch_size, model.embed_audio_tensor)
                    feeder.finish(pending)
                    _store(result, good, counts, emb, todo, dataset.keys, cache if use_cache else None, space,
                           store_dtype)
                elif good:
                    if isinstance(windows, int):
                        windows = ring.view(batch, windows)
                    flat = windows.numpy() if torch.is_tensor(windows) else [w.numpy() for w in windows]
                    emb = _embed_windows(model, prep, [dataset.keys[j] for j in good], counts, flat, batch_size)
                    if ring is not None:
                        ring.release(batch)  # the model is done with the slot: a worker may refill it
                    _store(result, good, counts, emb, todo, dataset.keys, cache if use_cache else None, space,
                           store_dtype)
                advance(len(good) + len(bad))
    finally:
        if feeder is not None:
            feeder.close()
        if ring is not None:
            ring.release_all()  # a worker waiting for a slot must not outlive an interrupted run
    return result


def _ring(prep: Preprocessing, batch_size: int, workers: int, ahead: bool = False) -> SlotRing:
    """Slots for every batch the DataLoader can have in flight, plus the one being embedded (and,
    ``ahead``, the next one, already being copied to the device)."""
    windows = batch_size * (prep.policy.max_chunks if prep.crop == "chunks" else 1)
    return SlotRing.create(PREFETCH * workers + 2 + int(ahead), windows, prep.policy.samples(prep.sample_rate))


def _feeds_device(model: AudioTextModel, device: str) -> bool:
    """Copy batches to the device ahead of the forward pass when the model runs on a CUDA GPU
    and its adapter takes a device tensor (``embed_audio_tensor``); others keep numpy input."""
    import torch

    if not callable(getattr(model, "embed_audio_tensor", None)):
        return False
    return torch.device(device).type == "cuda" or FEED_ON_CPU


def _feeder(ring: SlotRing | None, device: str) -> DeviceFeeder | None:
    """On the CPU (tests only) staging buffers in ordinary memory, the code path a GPU falls back to."""
    import torch

    if ring is None:
        return None
    if torch.device(device).type == "cuda":
        return DeviceFeeder(ring, device)
    return DeviceFeeder(ring, device, staging=True, pin=False)


def _copied_ahead(loader, feeder: DeviceFeeder | None):
    """The loader's batches, each with its device copy (a ``Pending``, or None: numpy path), one
    batch behind: batch ``b + 1``'s copy is started before batch ``b`` is handed on, so it runs
    on the copy engine while ``b``'s forward runs on the GPU."""
    if feeder is None:
        for item in loader:
            yield item, None
        return
    held: tuple | None = None
    for item in loader:
        batch, good, _, windows, _ = item
        pending: Pending | None = feeder.start(batch, windows) if good and isinstance(windows, int) else None
        if held is not None:
            yield held
        held = (item, pending)
    if held is not None:
        yield held


def _store(result: AudioPass, good: list[int], counts: list[int], emb: np.ndarray, todo: list[int],
           keys: list[str], cache: EmbeddingCache | None, space: str, store_dtype: str) -> None:
    """One embedding per clip (the mean of its windows' in chunks mode), committed to the cache
    as one transaction per batch."""
    bounds = np.cumsum([0] + counts)
    fresh = {}
    for j, a, b in zip(good, bounds[:-1], bounds[1:]):
        vec = l2_normalize(emb[a:b].mean(0)) if b - a > 1 else emb[a]
        if cache is not None:  # score what a cached re-run will read: both runs agree bit for bit
            vec = as_stored(vec, store_dtype)
        result.embeddings[todo[j]] = vec
        fresh[keys[j]] = vec
    if cache is not None:
        cache.put_audio(space, fresh, store_dtype)
    result.computed += len(good)


def _embed_windows(model: AudioTextModel, prep: Preprocessing, keys: list[str], counts: list[int],
                   windows, batch_size: int, embed=None) -> np.ndarray:
    """Embed every window of the clips (``counts[k]`` windows for clip ``keys[k]``), in order,
    ``batch_size`` windows per forward pass.

    ``windows``: one (N, samples) array, passed on in slices without a copy, or (fusion models'
    whole clips) a list of 1-D arrays, stacked where a slice's lengths agree; or a (N, samples)
    tensor already on the device, with ``embed`` the adapter's ``embed_audio_tensor``.
    """
    embed = model.embed_audio if embed is None else embed
    seeds = None if prep.crop == "random" else [clip_seed(prep.seed, key) for key, c in zip(keys, counts)
                                                for _ in range(c)]
    out = []
    for s in range(0, len(windows), batch_size):
        chunk = windows[s:s + batch_size]
        if isinstance(chunk, list) and all(len(w) == len(chunk[0]) for w in chunk):
            chunk = np.stack(chunk)
        out.append(np.asarray(embed(chunk, seeds=None if seeds is None else seeds[s:s + batch_size]),
                              dtype=np.float32))
    names = [key for key, c in zip(keys, counts) for _ in range(c)]
    return _finite(np.concatenate(out), "audio", names)


def _finite(emb: np.ndarray, what: str, names: Sequence[str]) -> np.ndarray:
    """Refuse NaN/Inf embeddings (a broken checkpoint, or fp16 overflow under --precision fp16)
    here, naming the inputs, rather than as an opaque failure in the metric."""
    bad = ~np.isfinite(emb).all(axis=-1)
    if bad.any():
        first = names[int(np.flatnonzero(bad)[0])] if len(names) == len(emb) else "?"
        raise ValueError(f"the model returned non-finite {what} embeddings for {int(bad.sum())} input(s) "
                         f"(first: {first}). With --precision fp16 this is overflow: use bf16 or fp32; "
                         "otherwise check the checkpoint")
    return emb


def embed_texts(model: AudioTextModel, texts: Sequence[str], cache: EmbeddingCache, batch_size: int = 64,
                progress: bool = True, precision: str = "fp32", device: str = "cpu") -> tuple[np.ndarray, int, int]:
    """Embeddings of ``texts`` in order, plus (cache hits, computed)."""
    unique = list(dict.fromkeys(texts))
    found = cache.get_text(unique)
    todo = [t for t in unique if t not in found]
    with bar("embedding prompts", len(todo), progress and len(todo) > batch_size) as advance:
        for s in range(0, len(todo), batch_size):
            chunk = todo[s:s + batch_size]
            with autocast(precision, device):
                fresh = dict(zip(chunk, _finite(np.asarray(model.embed_text(chunk), dtype=np.float32), "text", chunk)))
            cache.put_text(fresh)
            found.update(fresh)
            advance(len(chunk))
    return np.stack([found[t] for t in texts]).astype(np.float32), len(unique) - len(todo), len(todo)
