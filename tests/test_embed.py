"""The audio pass with decode workers gives exactly what decoding in-process gives: every window
reaches the model intact through the reused shared-memory slots (zsbench/runtime/batch_slots.py), in
every clip policy, across many more batches than there are slots."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from zsbench.data.audio import BadAudioError, ClipPolicy, Preprocessing
from zsbench.runtime.batch_slots import SlotRing
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.testing.models import WholeWindowModel
from zsbench.evaluation.embed import PREFETCH, embed_audio



def _pass(model, paths, crop: str, workers: int, batch_size: int = 3, **kw):
    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, crop, seed=5)
    out = embed_audio(model, paths, prep, EmbeddingCache(None, "x"), batch_size=batch_size, workers=workers,
                      progress=False, **kw)
    return out, np.stack([out.embeddings[i] for i in sorted(out.embeddings)])


@pytest.mark.parametrize("policy,crop", [
    (ClipPolicy(2.0, long="random"), "seeded"),  # one 2 s window cut from each 5 s clip
    (ClipPolicy(2.0, long="random", max_chunks=3), "chunks"),  # three windows per clip, averaged
    (ClipPolicy(8.0, short="repeatpad"), "seeded"),  # 5 s clips repeat-padded to 8 s
    (ClipPolicy(2.0, long="fusion"), "seeded"),  # whole clips: no fixed window, the slots are not used
], ids=["crop", "chunks", "pad", "fusion"])
def test_workers_give_exactly_the_in_process_embeddings(esc50_clips, policy, crop):
    model = WholeWindowModel(policy)
    paths = esc50_clips[:40]  # 14 batches of 3: the 2 * PREFETCH + 2 slots are each reused twice or more
    assert len(paths) / 3 > 2 * (PREFETCH * 2 + 2)
    _, alone = _pass(model, paths, crop, workers=0)
    out, shared = _pass(model, paths, crop, workers=2)
    assert out.computed == len(paths) and np.array_equal(alone, shared)


def test_bad_clips_in_worker_batches(esc50_clips, tmp_path):
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"not audio at all")
    paths = list(esc50_clips[:10]) + [bad] + list(esc50_clips[10:20])
    model = WholeWindowModel(ClipPolicy(2.0, long="random"))
    out, shared = _pass(model, paths, "seeded", workers=2, on_bad_audio="skip")
    assert out.skipped and out.skipped[0][0] == str(bad) and out.computed == 20
    _, alone = _pass(model, paths[:10] + paths[11:], "seeded", workers=0)
    assert np.array_equal(alone, shared)
    with pytest.raises(BadAudioError, match="broken.flac"):  # and the workers waiting on slots are let go
        _pass(model, paths, "seeded", workers=2)


def test_a_slot_is_not_rewritten_before_the_main_process_releases_it():
    ring = SlotRing.create(count=2, capacity=1, samples=4)
    ring.acquire(0)[:] = 1.0
    ring.acquire(1)[:] = 2.0
    written = threading.Event()

    def worker():  # batch 2 goes to slot 0, still held for batch 0
        ring.acquire(2)[:] = 3.0
        written.set()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert not written.wait(0.3)
    assert float(ring.view(0, 1).sum()) == 4.0  # batch 0's window, intact
    ring.release(0)
    assert written.wait(10) and float(ring.view(2, 1).sum()) == 12.0
    thread.join(10)

    later = threading.Thread(target=lambda: ring.acquire(5), daemon=True)  # waits for batch 3
    later.start()
    ring.release_all()  # an interrupted run lets every waiting worker go
    later.join(10)
    assert not later.is_alive()


def test_fixed_windows_travel_through_the_slots(esc50_clips, monkeypatch):
    """Fixed-length windows are written into the ring (not a fresh shared block per batch); a
    window that does not fit a slot takes the fresh block."""
    import zsbench.evaluation.embed as embed

    made = []
    real = embed._ring
    monkeypatch.setattr(embed, "_ring", lambda *a: made.append(real(*a)) or made[-1])
    model = WholeWindowModel(ClipPolicy(2.0, long="random"))
    _pass(model, esc50_clips[:12], "seeded", workers=2)
    ring = made[0]
    assert ring.slots.is_shared() and ring.slots.shape == (PREFETCH * 2 + 2, 3, 32000)
    assert float(ring.slots[:4].abs().sum(dim=(1, 2)).min()) > 0  # the 4 batches were written by the workers
    assert ring.fits(3, 32000) and not ring.fits(4, 32000) and not ring.fits(3, 32001)


def test_too_little_shared_memory_is_refused_with_the_fix(esc50_clips, monkeypatch):
    import zsbench.runtime.batch_slots as slots

    monkeypatch.setattr(slots, "shm_free_bytes", lambda folder=slots.SHM: 2**20)
    model = WholeWindowModel(ClipPolicy(8.0))
    with pytest.raises(MemoryError, match=r"need 9 MiB of shared memory.*/dev/shm has 1 MiB.*--workers.*--shm-size"):
        _pass(model, esc50_clips[:4], "seeded", workers=2)
    _pass(model, esc50_clips[:4], "seeded", workers=0)  # in-process decoding needs none
