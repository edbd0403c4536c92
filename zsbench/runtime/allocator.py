"""Keep large tensor buffers on the heap between batches (glibc).

glibc serves allocations above its mmap threshold (128 KiB, raised only after large frees) with
fresh mmap calls and returns them with munmap, so every batch's activations are page-faulted in
again. On CPU that cost LAION HTSAT-tiny a quarter of its throughput (8.3 against 11.9 clips/s
on 2 cores, benchmarks/README.md). Fixed thresholds keep freed buffers for reuse instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 256 << 20  # allocations above this still get their own mapping
TRIM_THRESHOLD = 512 << 20  # free heap kept before memory is returned to the system


@lru_cache(maxsize=1)
def keep_buffers_on_heap() -> bool:
    """Apply once per process; True where it took effect (Linux with glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
