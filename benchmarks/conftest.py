from __future__ import annotations

import os
from pathlib import Path

import pytest

from zsbench.testing import offline_hub

SHARED = Path(__file__).resolve().parents[2] / "shared"
_HOME = offline_hub(SHARED)  # before anything imports huggingface_hub
os.environ["ZSBENCH_CACHE"] = str(_HOME / "cache")
os.environ["ZSBENCH_RESULTS"] = str(_HOME / "results")


@pytest.fixture(scope="session")
def esc50_clips() -> list[Path]:
    clips = sorted((SHARED / "data" / "esc50" / "audio_flac").glob("*.flac"))
    if not clips:
        pytest.skip(f"benchmarks read the real ESC-50 clips from {SHARED}/data/esc50/audio_flac, absent here")
    return clips
