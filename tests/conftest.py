"""Test isolation: offline Hub, and every zsbench folder (cache, results, data) per test.

The demo model's fitted bridge and rendered sound-world clips are deterministic and written
atomically, so they are shared across the session to keep the suite fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def session_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("zsbench-session")
    return {"models": base / "models", "data": base / "data"}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, session_dirs) -> Path:
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSBENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("ZSBENCH_DATA", str(session_dirs["data"]))
    monkeypatch.setenv("ZSBENCH_MODELS", str(session_dirs["models"]))
    return tmp_path


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip(f"real dataset files not available: {SHARED} is absent (it is beside the repository in CI)")
    return SHARED


@pytest.fixture(scope="session")
def esc50_clips(shared) -> list[Path]:
    clips = sorted((shared / "data" / "esc50" / "audio_flac").glob("*.flac"))
    if not clips:
        pytest.skip(f"no ESC-50 clips under {shared / 'data' / 'esc50' / 'audio_flac'}")
    return clips
