"""Where zsbench keeps things by default; each place has an environment variable to move it."""

from __future__ import annotations

import os
from pathlib import Path


def _place(env: str, cache: bool, sub: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    import platformdirs

    base = platformdirs.user_cache_dir("zsbench") if cache else platformdirs.user_data_dir("zsbench")
    return Path(base) / sub


def cache_dir() -> Path:
    return _place("ZSBENCH_CACHE", True, "embeddings")


def results_dir() -> Path:
    return _place("ZSBENCH_RESULTS", False, "results")


def data_dir() -> Path:
    return _place("ZSBENCH_DATA", False, "data")


def models_dir() -> Path:
    return _place("ZSBENCH_MODELS", False, "models")
