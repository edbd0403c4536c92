"""Core throughput: decode + resample against a bare loop, and a cached re-run against a first run.

Run with ``make bench``. Numbers go to benchmarks/README.md; nothing here asserts a speed.
"""

from __future__ import annotations

import time

import pytest

from zsbench.data.audio import ClipPolicy, Preprocessing
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.evaluation.embed import embed_audio
from zsbench.testing.models import NearFreeModel, bare_decode

PREP = Preprocessing(48000, ClipPolicy(10.0, "repeatpad", "random"), "seeded")  # LAION-CLAP's input


@pytest.mark.parametrize("workers", [0, 2])
def test_decode_pipeline(benchmark, esc50_clips, workers):
    """Decode, resample, pad through the harness's loader (no cache) with a near-free model."""
    def go():
        embed_audio(NearFreeModel(48000, 10.0), esc50_clips, PREP, EmbeddingCache(None, "x"), batch_size=16,
                    workers=workers, progress=False)

    benchmark.pedantic(go, rounds=3, iterations=1, warmup_rounds=0)
    benchmark.extra_info["clips_per_s"] = len(esc50_clips) / benchmark.stats.stats.mean


def test_decode_bare_soundfile_soxr_loop(benchmark, esc50_clips):
    benchmark.pedantic(bare_decode, args=(esc50_clips,), rounds=3, iterations=1)
    benchmark.extra_info["clips_per_s"] = len(esc50_clips) / benchmark.stats.stats.mean


def test_cached_rerun_against_first_run(benchmark, esc50_clips, tmp_path, monkeypatch):
    """End to end with the demo model on the 400 real clips: first run, then the cached re-run."""
    import zsbench

    monkeypatch.setenv("ZSBENCH_RESULTS", str(tmp_path / "results"))
    table = tmp_path / "esc.csv"
    table.write_text("".join(f"{p},{p.stem.rsplit('-', 1)[1]}\n" for p in esc50_clips))
    opts = dict(task="folder", data_root=str(table), cache_dir=str(tmp_path / "cache"), workers=2)
    zsbench.evaluate(**opts, use_cache=False)  # warm-up: fits/loads the demo model, page cache
    t0 = time.perf_counter()
    first = zsbench.evaluate(**opts).record
    first_s = time.perf_counter() - t0
    result = benchmark.pedantic(lambda: zsbench.evaluate(**opts).record, rounds=5, iterations=1)
    assert first.cache["audio_computed"] == len(esc50_clips) and result.cache["audio_hits"] == len(esc50_clips)
    benchmark.extra_info["first_run_s"] = round(first_s, 3)
    benchmark.extra_info["cached_over_first"] = round(benchmark.stats.stats.mean / first_s, 4)
