"""What a result needs to be reproduced: versions of the packages that touch numbers, git revision."""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# torchvision: the fusion models' global mel goes through its Resize, whose antialias default
# changed at 0.17; soxr and librosa: the LAION resampling path.
TRACKED = ("zsbench", "numpy", "torch", "torchaudio", "torchvision", "soundfile", "soxr", "sentence-transformers",
           "transformers", "laion-clap", "msclap", "librosa")
RESAMPLERS = {"soxr-hq": ("soxr", "soxr.resample(quality='HQ'), then librosa 0.10's length rule ceil(n * ratio)"),
              "torchaudio-sinc": ("torchaudio", "torchaudio.transforms.Resample(orig, target) with its defaults")}


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


def resampler_used(name: str) -> dict[str, str | None]:
    """The resampler a run used, with the version of the package that implements it."""
    package, how = RESAMPLERS.get(name, (None, name))
    return {"name": name, "implementation": how, "package": package,
            "version": package_versions().get(package) if package else None}


@lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_identity(path: Path | str | None, spec: str | None) -> dict | None:
    """The weights file a model loaded: its name, sha256 (of the file, not only of the tensors)
    and whether it was the adapter's default or a ``--checkpoint`` the user gave."""
    if path is None:
        return None
    path = Path(path)
    stat = path.stat()
    return {"file": path.name, "path": str(path), "sha256": _sha256(str(path), stat.st_size, stat.st_mtime_ns),
            "default": spec is None}


def task_protocol(task, n_scored: int, report) -> dict:
    """What a published number's protocol is compared on: class set, clips, split options, metric."""
    return {"classes": len(task.labels), "clips": n_scored,
            "listed": int(task.coverage.get("listed", len(task.items))), "params": dict(task.params),
            "metric": report.headline}
