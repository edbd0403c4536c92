"""--shard under torchrun (gloo on CPU, 2 ranks): one record, the metrics of an unsharded run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zsbench.evaluation.results import ResultsStore


@pytest.mark.slow
def test_two_ranks_merge_into_one_record_identical_to_an_unsharded_run(hf_cache, clip_set, tmp_path):
    import zsbench
    from zsbench.testing.models import esc50_table, save_tiny_clap

    folder = save_tiny_clap(tmp_path / "clap")
    table = esc50_table(clip_set.spread(20), tmp_path / "esc.csv")
    args = ["run", "--shard", "--model", "hf-clap", "--checkpoint", str(folder), "--task", "folder",
            "--data-root", table, "--workers", "0", "--quiet", "--batch-size", "4",
            "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "results")]
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "zsbench.cli", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    [record] = list(ResultsStore(tmp_path / "results").records())
    n = len(clip_set.spread(20))
    shard = record.extra["shard"]
    assert shard["world_size"] == 2 and sum(shard["embedded_per_rank"]) == n and min(shard["embedded_per_rank"]) > 0
    plain = zsbench.evaluate(model="hf-clap", checkpoint=str(folder), task="folder", data_root=table, workers=0,
                             use_cache=False, store=False)
    assert record.metrics == plain.record.metrics
    assert record.task["n_scored"] == n


def test_shard_outside_torchrun_is_a_plain_run(hf_cache, esc50_clips, tmp_path):
    import zsbench
    from zsbench.testing.models import esc50_table, save_tiny_clap

    folder = save_tiny_clap(tmp_path / "clap")
    opts = dict(model="hf-clap", checkpoint=str(folder), task="folder", workers=0, store=False,
                data_root=esc50_table(esc50_clips[:4], tmp_path / "esc.csv"))
    assert zsbench.evaluate(**opts, shard=True).record.metrics == zsbench.evaluate(**opts).record.metrics


def test_shard_needs_the_cache(monkeypatch, tmp_path):
    from zsbench.evaluation.runner import RunConfig, run
    from zsbench.testing.models import NearFreeModel, synthetic_task

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    table = synthetic_task(tmp_path, 4, n_classes=3)
    with pytest.raises(ValueError, match="--shard .* writable --cache-dir shared by all ranks"):
        run(RunConfig(task="folder", data_root=str(table), store=False, use_cache=False, shard=True),
            model=NearFreeModel())
