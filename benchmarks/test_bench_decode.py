"""Decode pipeline scaling (issue 9): with a near-free model decoding is the whole cost, so this
is what feeds a GPU. The harness's loader (decode, resample to 48 kHz, repeat-pad to 10 s,
LAION-CLAP's input) at 0, 1, 2, ... worker processes, against the single-core bare
soundfile + soxr loop and against LAION's own file-list API (librosa at 48 kHz, int16
round trip) with the same near-free model in place of its network. The 400 ESC-50 clips, listed
``ZSBENCH_BENCH_DECODE_PASSES`` times (default 3: 1,200 decodes per pass), so that the workers'
start-up (about 0.1 s to the first batch, 0.05 s to shut down) weighs on each pass as it does on
a real task rather than on a tiny one. ``clips_per_s`` and the ratios are in each benchmark's
extra_info. Nothing asserts a speed.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from zsbench.data.audio import Preprocessing
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.evaluation.embed import embed_audio
from zsbench.testing.models import NearFreeModel, bare_decode, near_free_laion_forward

MODEL = NearFreeModel(sample_rate=48000, seconds=10.0)
PREP = Preprocessing(48000, MODEL.meta.clip, "seeded")
WORKERS = sorted({0, 1, 2, min(8, os.cpu_count() or 1)})
PASSES = int(os.environ.get("ZSBENCH_BENCH_DECODE_PASSES", "3"))
_RATES: dict[str, float] = {}


def _rate(benchmark, n: int, key: str) -> float:
    rate = n / benchmark.stats.stats.mean
    _RATES[key] = rate
    benchmark.extra_info["clips_per_s"] = round(rate, 1)
    return rate


@pytest.fixture(scope="module")
def clips(esc50_clips):
    return esc50_clips * PASSES


def test_single_core_soundfile_soxr(benchmark, clips):
    benchmark.pedantic(bare_decode, args=(clips,), rounds=3, iterations=1, warmup_rounds=1)
    _rate(benchmark, len(clips), "bare")


@pytest.fixture(scope="module")
def laion_near_free():
    """LAION's CLAP_Module with its network's audio forward replaced by a near-free function:
    ``get_audio_embedding_from_filelist`` then measures LAION's own loading path."""
    pytest.importorskip("laion_clap")
    from zsbench.adapters import laion as family

    ref = family.build_clap("HTSAT-tiny", False)
    ref.model.get_audio_embedding = near_free_laion_forward
    return ref


def test_laion_filelist_near_free(benchmark, clips, laion_near_free):
    files = [str(p) for p in clips]

    def go():
        return np.concatenate([laion_near_free.get_audio_embedding_from_filelist(x=files[i:i + 16])
                               for i in range(0, len(files), 16)])

    emb = benchmark.pedantic(go, rounds=2, iterations=1, warmup_rounds=1)
    assert emb.shape == (len(files), 512)
    _rate(benchmark, len(files), "laion")


class _Stamped:
    """The near-free model, noting when each batch reaches it: the spread between the first and
    the last batch is the pipeline's steady-state throughput, without the workers' start-up
    (before the first batch) and shut-down (after the last)."""

    def __init__(self, model):
        self.meta, self.model, self.calls = model.meta, model, []

    def fingerprint(self) -> str:
        return self.model.fingerprint()

    def embed_audio(self, windows, seeds=None):
        self.calls.append((time.perf_counter(), len(windows)))
        return self.model.embed_audio(windows, seeds)


@pytest.mark.parametrize("workers", WORKERS)
def test_harness_decode_workers(benchmark, clips, workers):
    passes = []

    def go():
        model = _Stamped(MODEL)
        start = time.perf_counter()
        out = embed_audio(model, clips, PREP, EmbeddingCache(None, "x"), batch_size=16, workers=workers,
                          progress=False)
        passes.append((start, time.perf_counter(), model.calls))
        assert out.computed == len(clips)

    benchmark.pedantic(go, rounds=3, iterations=1, warmup_rounds=1)
    rate = _rate(benchmark, len(clips), f"w{workers}")
    steady = []
    for start, end, calls in passes[1:]:  # the timed rounds
        first, last = calls[0][0], calls[-1][0]
        steady.append(sum(n for _, n in calls[1:]) / (last - first))
        benchmark.extra_info.setdefault("start_s", []).append(round(first - start, 3))
        benchmark.extra_info.setdefault("stop_s", []).append(round(end - last, 3))
    benchmark.extra_info["steady_clips_per_s"] = round(sum(steady) / len(steady), 1)
    if "bare" in _RATES:
        benchmark.extra_info["over_single_core_bare"] = round(rate / _RATES["bare"], 3)
        benchmark.extra_info["steady_over_single_core_bare"] = round(sum(steady) / len(steady) / _RATES["bare"], 3)
        benchmark.extra_info["target_0.8_x_workers"] = round(0.8 * max(1, workers), 2)
    if "laion" in _RATES:
        benchmark.extra_info["over_laion_filelist"] = round(rate / _RATES["laion"], 3)
