"""benchmarks/gpu/laion_gpu.py is run on a GPU only now and then, by hand: its ``--smoke`` mode
runs every part on the CPU in seconds, so a change anywhere it reaches (embed_audio, the LAION
adapter, the decode helpers) that breaks it fails here rather than in a scarce GPU session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu" / "laion_gpu.py"


@pytest.mark.slow
def test_the_gpu_script_runs_every_part_in_smoke_mode(tmp_path, hf_cache):
    out_dir = tmp_path / "out"
    env = {**os.environ, "OUT": str(out_dir)}  # the report's default place: $OUT/laion_gpu.json
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--hf-cache", str(hf_cache),
                           "--workdir", str(tmp_path / "work")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out_dir / "laion_gpu.json").read_text())
    assert report["smoke"] and report["errors"] == {}, report["errors"]
    assert set(report["skipped"]) == {"compile"}  # the one GPU-only part, skipped with its reason
    assert set(report["end_to_end_clips_per_s"]) == {"fp32", "bf16"}
    assert set(report["model_alone_clips_per_s"]) == {"fp32", "bf16"}
    assert report["laion_filelist_clips_per_s"] > 0
    decode = report["decode_scaling_near_free_model"]
    assert decode["bare_single_core"] > 0 and decode["workers_1"] > 0 and decode["workers_2"] > 0
    # the three targets (the first for each precision), each computed, with its pass/fail
    assert len(report["targets"]) == 4
    assert all(t["ratio"] is not None and isinstance(t["pass"], bool) for t in report["targets"])
    # the runs are right, not only timed: workers give the in-process embeddings bit for bit
    assert report["agreement"]["max_diff_workers_vs_in_process"] == 0.0
    # LAION's embed_audio_tensor (the GPU feed's entry) is embed_audio on a device tensor
    assert report["agreement"]["max_diff_tensor_entry_vs_numpy_entry"] == 0.0
    assert report["agreement"]["max_embedding_diff_vs_laion_first_clips"] < 1e-3
