"""--precision: fp32 is the default and unchanged; bf16 runs through autocast, stays close to
fp32, is cached apart from it and recorded; non-finite embeddings are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import zsbench
from zsbench.evaluation.cache import cache_name
from zsbench.runtime.precision import PRECISIONS, autocast


@pytest.fixture(scope="module")
def opts(hf_cache, clip_set, tmp_path_factory):
    from zsbench.testing.models import esc50_table, save_tiny_clap

    base = tmp_path_factory.mktemp("precision")
    return dict(model="hf-clap", checkpoint=str(save_tiny_clap(base / "clap")), task="folder", workers=0,
                store=False, data_root=esc50_table(clip_set.spread(16), base / "esc.csv"))


def test_bf16_is_close_to_fp32_and_cached_apart(opts, tmp_path):
    cache = str(tmp_path / "cache")
    fp32 = zsbench.evaluate(**opts, cache_dir=cache)
    assert fp32.record.config["precision"] == "fp32"
    bf16 = zsbench.evaluate(**opts, cache_dir=cache, precision="bf16")
    n = len(fp32.task.items)
    assert bf16.record.config["precision"] == "bf16"
    assert bf16.record.cache["audio_computed"] == n  # never served fp32 embeddings
    assert zsbench.evaluate(**opts, cache_dir=cache, precision="bf16").record.cache["audio_hits"] == n
    assert zsbench.evaluate(**opts, cache_dir=cache).record.metrics == fp32.record.metrics
    change = np.abs(bf16.scores - fp32.scores).max()
    assert 0 < change < 0.05  # bf16 keeps ~3 significant digits; scores are cosines
    print(f"\nbf16 vs fp32 (tiny CLAP, {n} clips): max score change {change:.1e}; "
          f"accuracy {fp32.report.values['accuracy']:.4f} -> {bf16.report.values['accuracy']:.4f}")


def test_fp32_autocast_is_a_no_op_and_names_are_checked():
    import torch

    x = torch.ones(2, 2)
    with autocast("fp32"):
        assert (x @ x).dtype == torch.float32
    with autocast("bf16"):
        assert (x @ x).dtype == torch.bfloat16
    assert cache_name("abc", "fp32") == "abc" and cache_name("abc", "bf16") == "abc-bf16"
    with pytest.raises(ValueError, match="--precision 'fp8': choose one of fp32, bf16, fp16"):
        zsbench.evaluate(model="demo", precision="fp8")
    assert set(PRECISIONS) == {"fp32", "bf16", "fp16"}


def test_non_finite_embeddings_are_refused_with_the_fix(tmp_path):
    from zsbench.testing.models import NearFreeModel, synthetic_task
    from zsbench.evaluation.runner import RunConfig, run

    class Overflowing(NearFreeModel):
        def embed_audio(self, windows, seeds=None):
            out = super().embed_audio(windows, seeds)
            out[0, 0] = np.inf
            return out

    table = synthetic_task(tmp_path, 4, n_classes=3)
    with pytest.raises(ValueError, match="non-finite audio embeddings.*use bf16 or fp32"):
        run(RunConfig(task="folder", data_root=str(table), store=False, use_cache=False), model=Overflowing())
