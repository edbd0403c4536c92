"""Memory stays bounded on AudioSet-sized tasks: what a run keeps per clip is its embedding,
its scores and its bookkeeping (~14 KiB), never its decoded audio (64 KiB per clip here).

Each run is a subprocess of ``zsbench.testing.models`` (near-free model, synthetic 16 kHz clips,
527 classes, two labels each: mAP) that reports its own peak RSS; the growth between a small
and a larger task, per extra clip, is what is bounded. The 20,000-clip figure is in
benchmarks/README.md (``python -m zsbench.testing.models DIR 20000``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PER_CLIP_BOUND_KIB = 32  # half a decoded clip: a run that kept the audio would blow through it


def _probe(root, n: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "zsbench.testing.models", str(root), str(n), "nocache"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_per_clip_is_bounded(tmp_path):
    small, large = _probe(tmp_path / "small", 500), _probe(tmp_path / "large", 6000)
    assert small["metric"] == large["metric"] == "mAP"
    per_clip_kib = (large["growth_mib"] - small["growth_mib"]) * 1024 / (large["clips"] - small["clips"])
    print(f"\npeak RSS {small['peak_rss_mib']} MiB at 500 clips, {large['peak_rss_mib']} MiB at 6000: "
          f"{per_clip_kib:.1f} KiB per extra clip")
    assert per_clip_kib < PER_CLIP_BOUND_KIB
