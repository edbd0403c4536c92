"""Optional reduced-precision inference (``--precision bf16|fp16``) for torch-based adapters.

Autocast around the adapter's forward passes, so every adapter gets it without code of its own:
matrix multiplies and convolutions run in the lower precision, reductions and normalisations
stay float32, and embeddings come back as float32. fp32 is the default and the only precision
whose numbers are comparable with published ones; the others are for speed (on a GPU, or bf16
on CPUs with AMX/AVX-512 BF16) and change embeddings and, possibly, metrics: benchmarks/README.md
reports by how much. The precision is part of the cache identity, so runs never mix embeddings
computed at different precisions, and it is recorded in the run's config.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

PRECISIONS = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


def check(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: str = "cpu") -> Iterator[None]:
    """Run the enclosed forward passes at ``precision`` on ``device`` (a no-op for fp32)."""
    dtype_name = PRECISIONS[check(precision)]
    if dtype_name is None:
        yield
        return
    import torch

    kind = torch.device(device).type
    with torch.autocast(device_type=kind, dtype=getattr(torch, dtype_name)):
        yield


def cache_suffix(precision: str) -> str:
    """What a precision adds to a cache file's name (fp32: nothing, so fp32 caches keep theirs)."""
    return "" if check(precision) == "fp32" else f"-{precision}"
