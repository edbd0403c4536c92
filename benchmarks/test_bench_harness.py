"""What the harness costs on top of the model, and what its cache saves (issue 9).

LAION-CLAP HTSAT-tiny (seeded random weights, costs what real ones cost) on the real ESC-50
fold-4 clips, batch 16, in-process decoding (the CPU default):

- overhead: ``zsbench.evaluate`` end to end (decode, resample, pad, embed, prompts, score,
  record) against a bare loop feeding the same pre-decoded windows to the same model;
- cache: a cached re-run, and a sweep point (another pooling on the same clips), against the
  first run;
- precision: fp32 against bf16 autocast (speed, largest embedding change, metric change).

``ZSBENCH_BENCH_LAION_CLIPS`` (default 64) sets the clip count; the README's figures use 400.
Nothing here asserts a speed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

N_CLIPS = int(os.environ.get("ZSBENCH_BENCH_LAION_CLIPS", "64"))
BATCH = 16


@pytest.fixture(scope="module")
def laion(laion_pair):
    """Our LAION HTSAT-tiny adapter with seeded random weights (from a LAION-style checkpoint)."""
    return laion_pair[1]


@pytest.fixture(scope="module")
def table(esc50_clips, tmp_path_factory) -> str:
    from zsbench.testing.models import esc50_table

    return esc50_table(esc50_clips[:N_CLIPS], tmp_path_factory.mktemp("esc") / "esc.csv")


def _evaluate(model, table: str, **kw):
    import zsbench

    opts = dict(task="folder", data_root=table, batch_size=BATCH, workers=0, store=False, use_cache=False)
    return zsbench.evaluate(model=model, **{**opts, **kw})


def test_harness_overhead_against_a_bare_loop(benchmark, laion, table, esc50_clips):
    """Bare: pre-decoded windows -> ``embed_audio`` in batches of 16, and the run's prompts ->
    ``embed_text`` (LAION's RoBERTa is no small part on CPU), nothing else. Harness:
    ``zsbench.evaluate`` from the files, no cache. Rounds alternate so both see the same load."""
    import torch

    from zsbench.data.audio import Preprocessing, prepare_clip

    clips = esc50_clips[:N_CLIPS]
    prep = Preprocessing(laion.meta.sample_rate, laion.meta.clip, "seeded")
    windows = np.concatenate([prepare_clip(p, prep, str(p)) for p in clips])
    texts = [t for ts in _evaluate(laion, table).record.prompts["prompts"].values() for t in ts]

    def bare() -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for s in range(0, len(windows), BATCH):
                laion.embed_audio(windows[s:s + BATCH], seeds=list(range(s, min(s + BATCH, len(windows)))))
            for s in range(0, len(texts), 64):  # the same prompts, in the harness's text batches
                laion.embed_text(texts[s:s + 64])
        bare_cpu.append(time.process_time() - c0)
        return time.perf_counter() - t0

    bare_cpu: list[float] = []  # CPU seconds (all threads): far less noisy than wall time on a shared machine
    harness_cpu: list[float] = []
    bare()  # warm-up (allocator, kernels)
    bare_times = []

    def harness():
        bare_times.append(bare())
        c0 = time.process_time()
        result = _evaluate(laion, table)
        harness_cpu.append(time.process_time() - c0)
        return result

    result = benchmark.pedantic(harness, rounds=2, iterations=1, warmup_rounds=1)
    assert result.record.task["n_scored"] == len(clips)
    harness_s = benchmark.stats.stats.mean - float(np.mean(bare_times[-2:]))  # pedantic times both; split them
    bare_s = float(np.mean(bare_times[-2:]))
    benchmark.extra_info.update(clips=len(clips), batch=BATCH, bare_s=round(bare_s, 3), harness_s=round(harness_s, 3),
                                bare_clips_per_s=round(len(clips) / bare_s, 2),
                                harness_clips_per_s=round(len(clips) / harness_s, 2),
                                overhead=round(harness_s / bare_s - 1, 4),
                                bare_cpu_s=round(float(np.mean(bare_cpu[-2:])), 3),
                                harness_cpu_s=round(float(np.mean(harness_cpu[-2:])), 3),
                                overhead_cpu=round(float(np.mean(harness_cpu[-2:]) / np.mean(bare_cpu[-2:])) - 1, 4))


def test_cached_rerun_and_sweep_point_against_first_run(benchmark, laion, table, tmp_path):
    cache = str(tmp_path / "cache")
    _evaluate(laion, table)  # warm-up
    t0 = time.perf_counter()
    first = _evaluate(laion, table, use_cache=True, cache_dir=cache)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()  # a sweep point on the same prompts: another pooling
    point = _evaluate(laion, table, use_cache=True, cache_dir=cache, pooling="score-mean")
    point_s = time.perf_counter() - t0
    t0 = time.perf_counter()  # a sweep point with new prompts: the text tower runs on them (model cost)
    _evaluate(laion, table, use_cache=True, cache_dir=cache, templates=["a sound of {label}", "{label}"])
    new_prompts_s = time.perf_counter() - t0
    again = benchmark.pedantic(lambda: _evaluate(laion, table, use_cache=True, cache_dir=cache), rounds=3, iterations=1)
    assert again.record.cache["audio_hits"] == point.record.cache["audio_hits"] == first.record.cache["audio_computed"]
    assert again.record.metrics == first.record.metrics
    benchmark.extra_info.update(clips=first.record.task["n_items"], first_run_s=round(first_s, 3),
                                sweep_point_s=round(point_s, 3), sweep_point_over_first=round(point_s / first_s, 4),
                                new_prompts_point_s=round(new_prompts_s, 3),
                                new_prompts_point_over_first=round(new_prompts_s / first_s, 4),
                                cached_over_first=round(benchmark.stats.stats.mean / first_s, 4))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision(benchmark, laion, table, precision):
    """Speed at each precision; against fp32: the largest embedding change and the metric."""
    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio

    paths = [Path(line.split(",")[0]) for line in Path(table).read_text().splitlines()]
    prep = Preprocessing(laion.meta.sample_rate, laion.meta.clip, "seeded")

    def go(p):
        out = embed_audio(laion, paths, prep, EmbeddingCache(None, "x"), batch_size=BATCH, workers=0,
                          progress=False, precision=p)
        return np.stack([out.embeddings[i] for i in range(len(paths))])

    emb = benchmark.pedantic(go, args=(precision,), rounds=2, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(clips=len(paths), clips_per_s=round(len(paths) / benchmark.stats.stats.mean, 2))
    if precision != "fp32":
        ref = go("fp32")
        ours, base = _evaluate(laion, table, precision=precision), _evaluate(laion, table)
        benchmark.extra_info.update(max_embedding_change=float(np.abs(emb - ref).max()),
                                    max_cosine_change=float(1 - (emb * ref).sum(1).min()),
                                    accuracy_fp32=base.report.values["accuracy"],
                                    accuracy=ours.report.values["accuracy"],
                                    max_score_change=float(np.abs(ours.scores - base.scores).max()))
