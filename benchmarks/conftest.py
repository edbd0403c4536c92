from __future__ import annotations

import os
from pathlib import Path

import pytest

from zsbench.testing import offline_hub, shared_root

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_root(REPO)
_HOME = offline_hub(REPO / "tests" / "fixtures" / "hf-hub")  # before anything imports huggingface_hub
os.environ["ZSBENCH_CACHE"] = str(_HOME / "cache")
os.environ["ZSBENCH_RESULTS"] = str(_HOME / "results")


@pytest.fixture(scope="session")
def esc50_clips() -> list[Path]:
    clips = sorted((SHARED / "data" / "esc50" / "audio_flac").glob("*.flac"))
    if not clips:
        pytest.skip(f"benchmarks read the real ESC-50 clips from {SHARED}/data/esc50/audio_flac, absent here")
    return clips


@pytest.fixture(scope="session")
def laion_pair(tmp_path_factory):
    """(LAION's own CLAP_Module, our HTSAT-tiny adapter) on the same seeded random weights,
    handed to the adapter as a LAION-style checkpoint."""
    import torch

    pytest.importorskip("laion_clap")
    from zsbench.adapters import laion
    from zsbench.adapters.base import LoadOptions

    torch.manual_seed(0)
    ref = laion.build_clap("HTSAT-tiny", False)
    path = tmp_path_factory.mktemp("laion") / "htsat-tiny-random.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in ref.model.state_dict().items()}}, path)
    return ref, laion.VARIANTS["laion-clap-630k-audioset-best"](LoadOptions(checkpoint=str(path)))
