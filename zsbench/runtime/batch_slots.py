"""Shared-memory batch slots that decode workers reuse, instead of a fresh segment per batch.

A batch of LAION-sized windows is 1.9 MB per clip. Sent the usual way (a new shared-memory
tensor per batch), every page of it is first faulted in and zeroed by the kernel in the worker,
faulted in again in the main process, and freed there: measured 1.06 ms per clip in the
worker alone, a third of decoding and resampling it (3.4 ms), and the main process, which also
has to keep the GPU busy, pays its share on every batch. A fixed ring of slots, mapped by every
process once, costs that only the first time each slot is used.

Protocol: batch ``b`` is written into slot ``b % K``. Its worker first waits until the main
process has released batch ``b - K`` (the slot's previous occupant); the main process releases a
batch once the model has returned its embeddings. ``K`` exceeds the batches the DataLoader keeps
in flight, so the wait is a safety net that normally never sleeps. It cannot deadlock: the
oldest unfinished batch only ever waits for a batch older than itself, which the main process
has already received.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch

RELEASED_ALL = 1 << 62  # written on shutdown: no worker waits any longer
SHM = "/dev/shm"  # where Linux keeps POSIX shared memory; containers often make it small


def shm_free_bytes(folder: str = SHM) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:  # no such folder (macOS): nothing to check
        return None
    return st.f_bavail * st.f_frsize


@dataclass
class SlotRing:
    """``slots``: (K, capacity, samples) float32 in shared memory; ``released[k]``: the last batch
    number the main process finished with in slot ``k`` (-1: none)."""

    slots: torch.Tensor
    released: torch.Tensor

    @classmethod
    def create(cls, count: int, capacity: int, samples: int) -> SlotRing:
        """Refuses, with the fix, a ring larger than the free shared memory: otherwise a worker
        dies of SIGBUS mid-run when it first writes past the limit."""
        size = count * capacity * samples * 4
        free = shm_free_bytes()
        if free is not None and size > free:
            raise MemoryError(
                f"decode workers need {size / 2**20:.0f} MiB of shared memory for their batches, but {SHM} has "
                f"{free / 2**20:.0f} MiB free: pass a smaller --batch-size or fewer --workers (0 decodes in "
                "the main process), or give the container more (docker run --shm-size=4g)")
        # mapped, not written: pages are committed when a worker first fills a slot
        storage = torch.UntypedStorage._new_shared(size)
        slots = torch.empty((0,), dtype=torch.float32).set_(storage, 0, (count, capacity, samples))
        released = torch.full((count,), -1, dtype=torch.int64).share_memory_()
        return cls(slots, released)

    @property
    def count(self) -> int:
        return self.slots.shape[0]

    def fits(self, windows: int, samples: int) -> bool:
        return windows <= self.slots.shape[1] and samples == self.slots.shape[2]

    def acquire(self, batch: int, timeout: float = 600.0) -> torch.Tensor:
        """The slot for ``batch``, once its previous occupant is released (in a worker)."""
        k, previous = batch % self.count, batch - self.count
        deadline = time.monotonic() + timeout
        parent = os.getppid()
        while int(self.released[k]) < previous:
            if os.getppid() != parent or time.monotonic() > deadline:  # the main process is gone
                raise RuntimeError(f"decode worker: slot {k} was not released for batch {batch}")
            time.sleep(0.0005)
        return self.slots[k]

    def view(self, batch: int, windows: int) -> torch.Tensor:
        return self.slots[batch % self.count, :windows]

    def release(self, batch: int) -> None:
        self.released[batch % self.count] = batch

    def release_all(self) -> None:
        self.released.fill_(RELEASED_ALL)
