from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = Path(__file__).resolve().parents[2] / "shared"
_TMP = Path(tempfile.mkdtemp(prefix="zsbench-bench-"))
atexit.register(shutil.rmtree, _TMP, True)
for _name in ("ZSBENCH_MODELS", "ZSBENCH_DATA", "ZSBENCH_CACHE", "ZSBENCH_RESULTS"):
    os.environ[_name] = str(_TMP / _name.lower())


@pytest.fixture(scope="session")
def esc50_clips() -> list[Path]:
    clips = sorted((SHARED / "data" / "esc50" / "audio_flac").glob("*.flac"))
    if not clips:
        pytest.skip(f"benchmarks read the real ESC-50 clips from {SHARED}/data/esc50/audio_flac, absent here")
    return clips
