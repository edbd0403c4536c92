"""The model protocol every adapter implements, and what it declares about itself.

An adapter is a thin wrapper: it owns its model's exact preprocessing facts (rate, window,
fill and crop rule, template), so the harness can decode, cache and score any model the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from zsbench.data.audio import ClipPolicy


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


# --- model options and weights: the one path every adapter loads through ------------------------


def check_options(name: str, extra: Mapping[str, Any], accepted: Iterable[str] = ()) -> None:
    """Refuse model options (``--model-option KEY=VALUE``) that ``name`` does not take: a
    misspelt option silently ignored would change nothing and still look like a result."""
    accepted = sorted(set(accepted))
    unknown = sorted(set(extra) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no model options"
        raise ValueError(f"{name}: unknown model option(s) {', '.join(unknown)}; {takes} "
                         "(an unknown option is refused, not ignored)")


def _is_safetensors(path: Path) -> bool:
    """By name, or by content: an 8-byte little-endian header length, then the JSON header."""
    if path.suffix == ".safetensors":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(9)
        size = path.stat().st_size
    except OSError:
        return False
    return len(head) == 9 and head[8:] == b"{" and 0 < int.from_bytes(head[:8], "little") < size


def _refusal(exc: BaseException) -> str | None:
    """What torch's weights-only unpickler objected to, if that is why loading failed (also when
    a library wrapped its error): the line naming the culprit, without the page of advice."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        text = str(link)
        if "Weights only load failed" in text:
            return next((line.strip() for line in text.splitlines() if "GLOBAL" in line or "Unsupported" in line),
                        "rejected by weights-only loading")
        link = link.__cause__ or link.__context__
    return None


def weights_error(path: Path | str, exc: BaseException, *, hint: str, refused_hint: str | None = None,
                  kind: str = "a PyTorch checkpoint") -> ValueError:
    """Why a weights file did not load, naming the file and the fix: ``refused_hint`` (default
    ``hint``) when weights-only loading refused it as unsafe, else ``hint``."""
    refusal = _refusal(exc)
    if refusal is not None:
        return ValueError(f"{path}: refused: unpickling it would run code or build objects other than tensors "
                          f"({refusal}); nothing in it was run. Only plain weight files are loaded. "
                          f"{refused_hint or hint}")
    text = str(exc).strip()
    first = text.splitlines()[0][:200] if text else ""
    return ValueError(f"{path}: not {kind} ({type(exc).__name__}: {first}). {hint}")


def safe_load(path: Path | str, *, hint: str, refused_hint: str | None = None, mmap: bool = False) -> Any:
    """A weights file's contents without running any of it: safetensors through ``safetensors``
    (a flat dict of tensors), anything else through ``torch.load(weights_only=True)`` (tensors
    and plain containers only; reference packages load with ``weights_only=False``). Failure is
    a ValueError from :func:`weights_error`."""
    path = Path(path)
    safetensors = _is_safetensors(path)
    try:
        if safetensors:
            from safetensors.torch import load_file

            return load_file(str(path))
        import torch

        if mmap:
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
                pass
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch and safetensors raise several types for foreign, corrupt or unsafe files
        raise weights_error(path, exc, hint=hint, refused_hint=refused_hint,
                            kind="a safetensors file" if safetensors else "a PyTorch checkpoint") from None


def read_weights(path: Path | str, *, what: str, layout: str, hint: str, refused_hint: str | None = None,
                 entries: Sequence[str | None] = ("state_dict", None), strip_prefix: str = "") -> dict[str, Any]:
    """The state dict in a weights file (:func:`safe_load`): the first of ``entries`` the file's
    dict has (``None``: the dict itself), non-empty and all tensors, ``strip_prefix`` removed
    from its keys (DDP's ``module.``). ``what`` and ``layout`` say what was expected."""
    import torch

    path = Path(path)
    obj = safe_load(path, hint=hint, refused_hint=refused_hint)
    state = None
    if isinstance(obj, dict):
        for entry in entries:
            if entry is None or entry in obj:
                state = obj if entry is None else obj[entry]
                break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        found = f"a dict with keys {sorted(map(str, obj))[:8]}" if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(f"{path}: not {what}: it holds no model weights (expected {layout}; found {found}). {hint}")
    return {k.removeprefix(strip_prefix): v for k, v in state.items()} if strip_prefix else state


def _few(keys: Sequence[str], n: int = 6) -> str:
    return f"{len(keys)} [{', '.join(keys[:n])}{', ...' if len(keys) > n else ''}]"


@dataclass(frozen=True)
class KeyDifferences:
    """How a state dict differs from a model's, by key name."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()  # in both, with another shape

    @classmethod
    def between(cls, expected: Mapping[str, Any], state: Mapping[str, Any]) -> "KeyDifferences":
        def shape(t: Any) -> tuple:
            return tuple(getattr(t, "shape", ()))

        return cls(tuple(sorted(expected.keys() - state.keys())), tuple(sorted(state.keys() - expected.keys())),
                   tuple(sorted(k for k in expected.keys() & state.keys() if shape(expected[k]) != shape(state[k]))))

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def check(self, path: Path | str, what: str, hint: str) -> None:
        """A ValueError naming the file, the keys that do not fit and ``hint`` (the fix), if any."""
        if self:
            raise ValueError(f"{path} does not fit {what}: missing keys {_few(self.missing)}; unexpected keys "
                             f"{_few(self.unexpected)}; keys with other shapes {_few(self.shapes)}. {hint}")


def nonpersistent_buffers(model: Any) -> set[str]:
    """Buffers the model rebuilds itself (not in its state dict), e.g. transformers'
    ``position_ids``: files saved by older releases may carry them, and they are safe to drop."""
    return {name for name, _ in model.named_buffers()} - set(model.state_dict())


def load_checked(model: Any, state: Mapping[str, Any], path: Path | str, *, what: str, hint: str,
                 ignorable: Iterable[str] = ()) -> None:
    """``model.load_state_dict(strict=True)`` of exactly the model's weights, after checking the
    key set and shapes (:class:`KeyDifferences`). Keys in ``ignorable`` are dropped from
    ``state`` when the model does not expect them (constants it rebuilds)."""
    expected = model.state_dict()
    drop = set(ignorable) - expected.keys()
    state = {k: v for k, v in state.items() if k not in drop}
    KeyDifferences.between(expected, state).check(path, what, hint)
    model.load_state_dict(state, strict=True)
