"""Test isolation: an offline Hub, session-wide temporary model and data folders, and a
cache and results store of its own for every test. Nothing touches the user's folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Offline Hub, with a writable copy of the shared tokenizer/config cache. Set before anything
# imports huggingface_hub, which reads these variables once at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_HF_HOME = Path(tempfile.mkdtemp(prefix="zsbench-hf-"))
atexit.register(shutil.rmtree, _HF_HOME, True)
if (SHARED / "hf-cache").exists():
    shutil.copytree(SHARED / "hf-cache", _HF_HOME / "hub", ignore=shutil.ignore_patterns("README.md"))
    for folder, _, files in os.walk(_HF_HOME):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_CACHE"] = str(_HF_HOME / "hub")
# Session-wide, so module-scoped fixtures see them too: the demo model's fitted bridge and
# the rendered sound world are deterministic and written atomically, so tests share them.
os.environ["ZSBENCH_MODELS"] = str(_HF_HOME / "zsbench-models")
os.environ["ZSBENCH_DATA"] = str(_HF_HOME / "zsbench-data")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSBENCH_RESULTS", str(tmp_path / "results"))
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


@pytest.fixture(scope="session")
def hf_cache(shared) -> Path:
    """The writable offline Hub cache (tokenizers and configs of gpt2, bert-base-uncased,
    roberta-base, facebook/bart-base; no weights)."""
    return Path(os.environ["HF_HUB_CACHE"])
