"""Host-to-device copies of decoded batches, overlapped with the previous batch's forward pass.

Decode workers leave each batch in a slot of the shared ring (``batch_slots.SlotRing``). Copied
to a GPU from ordinary (pageable) memory, ``tensor.to("cuda")`` first copies the batch again into
a driver bounce buffer, synchronously, in the main process, which is also the one that has to
keep the GPU busy. From page-locked memory the copy is one DMA that the GPU's copy engine runs
while the compute engine is still busy with the previous batch. So the feeder:

- registers the ring's shared memory as page-locked (``cudaHostRegister``), once per run; when
  the driver refuses (some containers cap locked memory), it copies each slot into one of two
  pinned staging buffers instead (one CPU memcpy, still far cheaper than a pageable copy);
- starts batch ``b + 1``'s copy on a side stream before batch ``b``'s forward is enqueued; the
  forward's stream waits on the copy's event, and a slot (or staging buffer) is reused only once
  the copy out of it has finished.

On the CPU nothing of this runs (``embed.py`` keeps the plain numpy path), except in tests,
which drive the staging logic with ``pin=False`` so it cannot rot without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from zsbench.runtime.batch_slots import SlotRing

STAGING_BUFFERS = 2  # one being copied to the device while the other is filled


@dataclass
class Pending:
    """A batch whose copy to the device was started: ``tensor`` is its device copy (usable once
    ``DeviceFeeder.ready`` returned it), ``slot_free``: its ring slot was already handed back."""

    batch: int
    tensor: torch.Tensor
    event: Any  # torch.cuda.Event, or None off CUDA
    slot_free: bool


class DeviceFeeder:
    """Moves ring slots to ``device`` ahead of the forward pass (see the module docstring).

    ``staging``: copy through staging buffers rather than registering the ring (None: register
    on CUDA, staging where registering fails); ``pin``: allocate those buffers page-locked
    (default: on CUDA only; tests pass ``pin=False`` to exercise the logic on the CPU)."""

    def __init__(self, ring: SlotRing, device: str, staging: bool | None = None, pin: bool | None = None):
        self.ring = ring
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.registered_ptr: int | None = None
        self.stream = torch.cuda.Stream(self.device) if self.cuda else None
        if staging is None:
            staging = not (self.cuda and self._register())
        self.staging: list[torch.Tensor] = []
        self.staging_events: list[Any] = [None] * STAGING_BUFFERS
        if staging:
            pin = self.cuda if pin is None else pin
            shape = tuple(ring.slots.shape[1:])
            self.staging = [torch.empty(shape, dtype=ring.slots.dtype, pin_memory=pin) for _ in range(STAGING_BUFFERS)]
        # how batches reach the device: the ``registered`` ring, ``staging`` buffers, or ``direct``
        # (CPU only: the slot itself); kept after close, for reports and tests
        self.mode = "registered" if self.registered_ptr is not None else "staging" if self.staging else "direct"


    def _register(self) -> bool:
        """Page-lock the ring's shared memory in place; False when the driver refuses."""
        slots = self.ring.slots
        ptr, size = slots.data_ptr(), slots.numel() * slots.element_size()
        try:
            torch.cuda.check_error(torch.cuda.cudart().cudaHostRegister(ptr, size, 0))
        except Exception:  # noqa: BLE001  (RLIMIT_MEMLOCK, an old driver: fall back to staging)
            return False
        self.registered_ptr = ptr
        return True

    def start(self, batch: int, rows: int) -> Pending:
        """Begin copying batch ``batch`` (``rows`` windows of its slot) to the device."""
        src = self.ring.view(batch, rows)
        slot_free = False
        if self.staging:
            k = batch % STAGING_BUFFERS
            if self.staging_events[k] is not None:
                self.staging_events[k].synchronize()  # its previous copy has read the buffer out
            buf = self.staging[k][:rows]
            buf.copy_(src)
            src = buf
            self.ring.release(batch)  # the batch now lives in the staging buffer: a worker may refill the slot
            slot_free = True
        if not self.cuda:
            return Pending(batch, src.to(self.device), None, slot_free)
        with torch.cuda.stream(self.stream):
            dst = src.to(self.device, non_blocking=True)
            event = torch.cuda.Event()
            event.record(self.stream)
        if self.staging:
            self.staging_events[batch % STAGING_BUFFERS] = event
        return Pending(batch, dst, event, slot_free)

    def ready(self, pending: Pending) -> torch.Tensor:
        """The batch on the device, for the forward pass on the current stream."""
        if pending.event is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(pending.event)
            pending.tensor.record_stream(current)  # allocated on the side stream, used on this one
        return pending.tensor

    def finish(self, pending: Pending) -> None:
        """The forward pass is done with the batch: hand its slot back if still held."""
        if not pending.slot_free:
            if pending.event is not None:
                pending.event.synchronize()  # already done once the forward has returned; cheap
            self.ring.release(pending.batch)
            pending.slot_free = True

    def close(self) -> None:
        """Unregister the ring (before its shared memory is unmapped) and drop staging buffers."""
        if self.cuda:
            self.stream.synchronize()
        if self.registered_ptr is not None:
            try:
                torch.cuda.check_error(torch.cuda.cudart().cudaHostUnregister(self.registered_ptr))
            finally:
                self.registered_ptr = None
        self.staging = []
        self.staging_events = [None] * STAGING_BUFFERS
