"""What a result needs to be reproduced: versions of the packages that touch numbers, git revision."""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TRACKED = ("zsbench", "numpy", "torch", "torchaudio", "soundfile", "soxr", "sentence-transformers",
           "transformers", "laion-clap", "msclap", "librosa")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TRACKED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The source checkout's revision (``+dirty`` when it has uncommitted changes)."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
