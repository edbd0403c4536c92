"""Set-up shared by the test suite and the benchmarks (not used by the harness itself)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def offline_hub(shared: Path) -> Path:
    """Point Hugging Face at a writable copy of ``shared/hf-cache`` (tokenizers and configs
    only), offline, plus temporary zsbench model and data folders; return the folder.

    Call it before anything imports huggingface_hub: it reads these variables once, at import.
    """
    home = Path(tempfile.mkdtemp(prefix="zsbench-hf-"))
    atexit.register(shutil.rmtree, home, True)
    if (shared / "hf-cache").exists():
        shutil.copytree(shared / "hf-cache", home / "hub", ignore=shutil.ignore_patterns("README.md"))
        for folder, _, files in os.walk(home):  # the shared copy is read-only
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(home),
                      HF_HUB_CACHE=str(home / "hub"), ZSBENCH_MODELS=str(home / "zsbench-models"),
                      ZSBENCH_DATA=str(home / "zsbench-data"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return home
