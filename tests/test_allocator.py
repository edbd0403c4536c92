"""The glibc allocator tuning that keeps tensor buffers on the heap between batches."""

from __future__ import annotations


def test_allocator_tuning_applies_once_on_glibc():
    import sys

    from zsbench.runtime.allocator import keep_buffers_on_heap

    applied = keep_buffers_on_heap()
    assert keep_buffers_on_heap() is applied  # cached: applied once per process
    if sys.platform.startswith("linux"):
        import platform

        assert applied == (platform.libc_ver()[0] == "glibc")
