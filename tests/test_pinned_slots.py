"""The device-feed path (zsbench/runtime/device_feed.py): decoded batches copied to the device
ahead of the forward pass, from page-locked ring slots or pinned staging buffers.

Without a GPU the same code runs with staging buffers in ordinary memory (``FEED_ON_CPU``), so
its bookkeeping (which slot is released when, which buffer is reused when) is checked here on
every machine: the adapter must receive exactly the windows the numpy path gives it, and no
slot, buffer or worker may outlive the run. The CUDA test runs where there is a GPU."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import zsbench.evaluation.embed as embed
from zsbench.data.audio import BadAudioError, ClipPolicy, Preprocessing
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.testing.models import WholeWindowModel
from zsbench.runtime.batch_slots import RELEASED_ALL, SlotRing
from zsbench.runtime.device_feed import STAGING_BUFFERS, DeviceFeeder



class TensorModel(WholeWindowModel):
    """``WholeWindowModel`` that also takes device tensors, and counts which input it got."""

    def __init__(self, policy: ClipPolicy):
        super().__init__(policy)
        self.tensor_calls = 0

    def embed_audio_tensor(self, windows: torch.Tensor, seeds=None) -> np.ndarray:
        assert torch.is_tensor(windows) and windows.ndim == 2
        self.tensor_calls += 1
        return self.embed_audio(windows.cpu().numpy(), seeds)


def _pass(model, paths, crop: str, workers: int, device: str = "cpu", **kw) -> tuple:
    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, crop, seed=5)
    out = embed.embed_audio(model, paths, prep, EmbeddingCache(None, "x"), batch_size=3, workers=workers,
                            progress=False, device=device, **kw)
    return out, np.stack([out.embeddings[i] for i in sorted(out.embeddings)])


def _shm_entries() -> set[str]:
    folder = Path("/dev/shm")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture
def watched(monkeypatch):
    """Feed on the CPU, and keep the run's ring and feeder for the leak checks."""
    monkeypatch.setattr(embed, "FEED_ON_CPU", True)
    seen: dict[str, list] = {"rings": [], "feeders": []}
    real_ring, real_feeder = embed._ring, embed._feeder
    monkeypatch.setattr(embed, "_ring", lambda *a: seen["rings"].append(real_ring(*a)) or seen["rings"][-1])
    monkeypatch.setattr(embed, "_feeder", lambda *a: seen["feeders"].append(real_feeder(*a)) or seen["feeders"][-1])
    return seen


def _assert_nothing_left(seen: dict, shm_before: set[str]) -> None:
    [ring], [feeder] = seen["rings"], seen["feeders"]
    assert bool((ring.released == RELEASED_ALL).all()), "a worker could still be waiting for a slot"
    assert feeder.staging == [] and feeder.registered_ptr is None, "the feeder was not closed"
    assert not multiprocessing.active_children(), "a decode worker outlived the run"
    leaked = {n for n in _shm_entries() - shm_before if str(os.getpid()) in n}
    assert not leaked, f"shared memory left behind: {leaked}"


@pytest.mark.parametrize("policy,crop", [
    (ClipPolicy(2.0, long="random"), "seeded"),
    (ClipPolicy(2.0, long="random", max_chunks=3), "chunks"),
    (ClipPolicy(8.0, short="repeatpad"), "seeded"),
], ids=["crop", "chunks", "pad"])
def test_fed_batches_give_exactly_the_numpy_path_embeddings(esc50_clips, watched, policy, crop):
    """Many more batches than slots and staging buffers: a buffer reused too early, or a slot
    released before its copy, would hand the model another batch's windows."""
    paths = esc50_clips[:40]
    before = _shm_entries()
    _, alone = _pass(WholeWindowModel(policy), paths, crop, workers=0)
    model = TensorModel(policy)
    out, fed = _pass(model, paths, crop, workers=2)
    assert out.computed == len(paths) and np.array_equal(alone, fed)
    assert model.tensor_calls >= len(paths) // 3, "the tensor path was not taken"
    assert watched["feeders"][0].mode == "staging"
    ring = watched["rings"][0]
    assert ring.count == embed.PREFETCH * 2 + 3  # one more slot: the batch copied ahead
    _assert_nothing_left(watched, before)


def test_bad_audio_and_an_interrupted_fed_run_leave_nothing_behind(esc50_clips, tmp_path, watched):
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"not audio at all")
    paths = list(esc50_clips[:10]) + [bad] + list(esc50_clips[10:20])
    model = TensorModel(ClipPolicy(2.0, long="random"))
    before = _shm_entries()
    out, fed = _pass(model, paths, "seeded", workers=2, on_bad_audio="skip")
    assert out.skipped[0][0] == str(bad) and out.computed == 20
    _, alone = _pass(WholeWindowModel(ClipPolicy(2.0, long="random")), paths[:10] + paths[11:], "seeded", workers=0)
    assert np.array_equal(alone, fed)
    watched["rings"].clear(), watched["feeders"].clear()
    with pytest.raises(BadAudioError, match="broken.flac"):
        _pass(model, paths, "seeded", workers=2)
    _assert_nothing_left(watched, before)


def test_cpu_runs_keep_the_numpy_path(esc50_clips):
    """Without ``FEED_ON_CPU`` (every real CPU run) an adapter's ``embed_audio_tensor`` is never
    used and no extra slot is made: CPU behaviour is what it was."""
    model = TensorModel(ClipPolicy(2.0, long="random"))
    out, _ = _pass(model, esc50_clips[:9], "seeded", workers=2)
    assert out.computed == 9 and model.tensor_calls == 0
    assert not embed._feeds_device(WholeWindowModel(ClipPolicy(2.0)), "cuda:0")  # no tensor method: numpy


def test_staging_hands_the_slot_back_at_once_and_alternates_buffers():
    """With staging, a slot is free again as soon as its batch is in a buffer (the worker need
    not wait for the GPU); the buffers take turns, so batch b + 2 may overwrite b's only."""
    ring = SlotRing.create(count=3, capacity=2, samples=4)
    feeder = DeviceFeeder(ring, "cpu", staging=True, pin=False)
    pending = []
    for b in range(4):
        ring.acquire(b)[:2] = float(b + 1)
        p = feeder.start(b, 2)
        assert p.slot_free and int(ring.released[b % 3]) == b
        assert p.tensor.data_ptr() == feeder.staging[b % STAGING_BUFFERS].data_ptr()
        pending.append(p)
        assert float(feeder.ready(p).sum()) == 8.0 * (b + 1)
        feeder.finish(p)
    feeder.close()
    assert feeder.staging == []


def test_direct_mode_holds_the_slot_until_the_forward_is_done():
    """Registered (page-locked) slots are read by the copy itself: the slot is released only when
    the batch is finished, never when its copy starts."""
    ring = SlotRing.create(count=2, capacity=1, samples=4)
    feeder = DeviceFeeder(ring, "cpu", staging=False)
    assert feeder.mode == "direct"
    ring.acquire(0)[:] = 1.0
    p = feeder.start(0, 1)
    assert not p.slot_free and int(ring.released[0]) == -1
    feeder.finish(p)
    assert int(ring.released[0]) == 0
    feeder.close()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: the page-locked path and its streams")
@pytest.mark.parametrize("staging", [None, True], ids=["registered", "pinned-staging"])
def test_cuda_feed_gives_the_numpy_path_embeddings(esc50_clips, monkeypatch, staging):
    seen: list[DeviceFeeder] = []
    real = embed._feeder

    def feeder(ring, device):
        f = DeviceFeeder(ring, device, staging=staging) if ring is not None else real(ring, device)
        seen.append(f)
        return f

    monkeypatch.setattr(embed, "_feeder", feeder)
    policy = ClipPolicy(2.0, long="random")
    _, alone = _pass(WholeWindowModel(policy), esc50_clips[:40], "seeded", workers=0)
    model = TensorModel(policy)
    out, fed = _pass(model, esc50_clips[:40], "seeded", workers=2, device="cuda:0")
    assert out.computed == 40 and np.array_equal(alone, fed) and model.tensor_calls > 0
    assert seen[0].mode == ("staging" if staging else "registered")
    if staging:
        assert all(b.is_pinned() for b in seen[0].staging) or seen[0].staging == []
    assert seen[0].registered_ptr is None  # unregistered at the end
