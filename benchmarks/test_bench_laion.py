"""LAION-CLAP audio throughput: the harness's path against the package's own file API.

Both sides run the same HTSAT-tiny model (630k-audioset layout, seeded random weights, loaded
into our adapter from a LAION-style checkpoint). Ours: ``zsbench.evaluation.embed.embed_audio`` with 2
decode workers, batches of 16, no cache. Reference: ``CLAP_Module.get_audio_embedding_from_filelist``
in batches of 16, called as the package's README calls it. On 2 cores the model dominates, so a
subset of the 400 ESC-50 clips keeps this to a few minutes; ZSBENCH_BENCH_LAION_CLIPS=400 runs all.
Nothing here asserts a speed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from zsbench.testing import shared_root

SHARED = shared_root(Path(__file__).resolve().parents[1])
N_CLIPS = int(os.environ.get("ZSBENCH_BENCH_LAION_CLIPS", "64"))
BATCH = 16
WORKERS = int(os.environ["ZSBENCH_BENCH_WORKERS"]) if "ZSBENCH_BENCH_WORKERS" in os.environ else None  # None: default


@pytest.fixture(scope="module")
def models(laion_pair):
    """(reference CLAP_Module, our adapter) with the same weights."""
    return laion_pair


@pytest.fixture(scope="module")
def clips(esc50_clips) -> list[Path]:
    return esc50_clips[:N_CLIPS]


def _record(benchmark, clips, esc50_clips, **extra) -> None:
    benchmark.extra_info.update(clips=len(clips), of_clips=len(esc50_clips), batch=BATCH, model="HTSAT-tiny",
                                clips_per_s=round(len(clips) / benchmark.stats.stats.mean, 3), **extra)


def test_laion_harness_embed_audio(benchmark, models, clips, esc50_clips):
    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio

    model = models[1]
    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, "seeded")

    def go():
        return embed_audio(model, clips, prep, EmbeddingCache(None, "x"), batch_size=BATCH, workers=WORKERS, progress=False)

    result = benchmark.pedantic(go, rounds=2, iterations=1, warmup_rounds=1)
    assert result.computed == len(clips)
    _record(benchmark, clips, esc50_clips, path=f"zsbench.evaluation.embed.embed_audio, workers={WORKERS or 'default (0 on CPU)'}, no cache")


def test_laion_package_filelist(benchmark, models, clips, esc50_clips):
    ref = models[0]

    def go():
        return np.concatenate([ref.get_audio_embedding_from_filelist(x=[str(p) for p in clips[i:i + BATCH]])
                               for i in range(0, len(clips), BATCH)])

    emb = benchmark.pedantic(go, rounds=2, iterations=1, warmup_rounds=1)
    assert emb.shape == (len(clips), 512)
    _record(benchmark, clips, esc50_clips, path="CLAP_Module.get_audio_embedding_from_filelist")
