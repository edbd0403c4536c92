"""Test isolation: an offline Hub, session-wide temporary model and data folders, and a
cache and results store of its own for every test. Nothing touches the user's folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zsbench.testing import offline_hub

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Offline Hub (a writable copy of the shared tokenizer/config cache) and session-wide model and
# data folders, set before anything imports huggingface_hub. The demo model's fitted bridge and
# the rendered sound world are deterministic and written atomically, so tests share them.
offline_hub(SHARED)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path


@pytest.fixture(scope="session")
def demo_fitted() -> None:
    """Fit the demo model in this process, once, so subprocess CLI tests reuse the fitted file."""
    from zsbench.adapters.demo import load_or_fit

    load_or_fit()


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


@pytest.fixture(scope="session")
def hf_cache(shared) -> Path:
    """The writable offline Hub cache (tokenizers and configs of gpt2, bert-base-uncased,
    roberta-base, facebook/bart-base; no weights)."""
    return Path(os.environ["HF_HUB_CACHE"])
