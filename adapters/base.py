"""The model protocol every adapter implements, and what it declares about itself.

An adapter is a thin wrapper: it owns its model's exact preprocessing facts (rate, window,
fill and crop rule, template), so the harness can decode, cache and score any model the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from zsbench.audio import ClipPolicy


UNKNOWN = "unknown"


@dataclass(frozen=True)
class TrainingData:
    """What a checkpoint was trained on and selected by, as its sources state it. A harness
    needs this to flag a zero-shot score on data the model has seen (or was picked on).

    ``overlaps`` maps a task id to why that task's test data overlaps (same clips, same source
    corpus, or checkpoint selection on it). ``trained_on`` of ``("unknown",)`` means no source
    says; an empty ``overlaps`` with known ``trained_on`` means none is known."""
    trained_on: tuple[str, ...] = (UNKNOWN,)
    selected_on: tuple[str, ...] = (UNKNOWN,)
    overlaps: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"trained_on": list(self.trained_on), "selected_on": list(self.selected_on),
                "overlaps": dict(self.overlaps), "sources": list(self.sources)}


@dataclass(frozen=True)
class ModelMeta:
    name: str
    sample_rate: int
    clip: ClipPolicy
    embed_dim: int
    templates: tuple[str, ...]  # the paper's default template(s); "{label}" or a prefix
    description: str
    reference: str = ""  # the package or paper this adapter must match
    # Documentation, not behaviour (left out of to_dict, so of fingerprints): where the default
    # template comes from, and what the weights were trained and selected on.
    template_source: str = UNKNOWN
    training: TrainingData = field(default_factory=TrainingData)

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.clip.seconds <= 0 or self.embed_dim <= 0:
            raise ValueError(f"{self.name}: sample_rate, clip seconds and embed_dim must be positive")
        if not self.templates:
            raise ValueError(f"{self.name}: an adapter needs at least one default template")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["template_source"], out["training"]
        if out["clip"]["crop_to_end"]:  # the default: left out, so older fingerprints stay as they were
            del out["clip"]["crop_to_end"]
        return out


@runtime_checkable
class AudioTextModel(Protocol):
    meta: ModelMeta

    def fingerprint(self) -> str:
        """Changes when weights, config or preprocessing change, and only then."""

    def embed_audio(self, windows: np.ndarray | list[np.ndarray], seeds: Sequence[int] | None = None) -> np.ndarray:
        """(B, samples) float32 at meta.sample_rate -> (B, D) L2-normalised float32.

        ``windows`` is a list of 1-D arrays of different lengths only for ``clip.long ==
        "fusion"`` models, which crop inside; ``seeds`` (one per window, None for ``--crop
        random``) makes that crop the same in every run.
        """

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """M texts -> (M, D) L2-normalised float32."""


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def fingerprint_of(*parts: Any) -> str:
    """Stable short hash of JSON-able parts and byte strings (weights)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


@dataclass
class LoadOptions:
    """What every adapter constructor accepts from the command line."""

    device: str = "cpu"
    checkpoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    crop: str = "seeded"  # for models that crop inside (LAION fusion): seeded or random


def check_device(device: str) -> str:
    """Fail before loading weights when the device does not exist here."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available on this machine (no CUDA GPU); use --device cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' is not available on this machine; use --device cpu")
    torch.device(device)  # raises on malformed names
    return device


def state_digest(state: Mapping[str, Any]) -> str:
    """Hash of a state dict's names, dtypes, shapes and bytes in sorted key order: the same
    weights give the same digest whatever file, path or key order they came from."""
    import torch

    h = hashlib.blake2b(digest_size=20)
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


@contextlib.contextmanager
def numpy_global_seed(seed: int | None) -> Iterator[None]:
    """Reference code (LAION fusion, ClapFeatureExtractor) crops with NumPy's global generator:
    seed it for one call from the clip's seed, then restore it so nothing else changes.
    ``None`` leaves it alone: the reference's own randomness (``--crop random``)."""
    if seed is None:
        yield
        return
    saved = np.random.get_state()
    np.random.seed(int(seed) % 2**32)
    try:
        yield
    finally:
        np.random.set_state(saved)
