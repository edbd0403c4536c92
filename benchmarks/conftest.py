from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def esc50_clips() -> list[Path]:
    clips = sorted((SHARED / "data" / "esc50" / "audio_flac").glob("*.flac"))
    if not clips:
        pytest.skip(f"benchmarks read the real ESC-50 clips from {SHARED}/data/esc50/audio_flac, absent here")
    return clips
