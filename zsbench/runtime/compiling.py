"""Opt-in ``torch.compile`` of a model's audio tower for inference (``zsbench run --compile``).

Why opt-in: compiling costs tens of seconds per input shape before the first batch (53 s cold
for LAION HTSAT-tiny on 2 CPU cores, benchmarks/README.md) for a gain of about 1.2x on CPU, so
it pays off only on large tasks; and compiled kernels round differently from eager ones (last
bits of the embeddings), so eager fp32 stays the default and the comparable reference.

Why an adapter hook and not ``torch.compile(adapter)``: only the adapter knows which module is
the expensive one with fixed input shapes. It exposes ``compile_towers(compile_fn) -> list[str]``:
it replaces what is worth compiling with ``compile_fn(...)`` and returns the names it compiled.
Adapters compile a bound ``forward``/``encode_*`` method set on the instance rather than
swapping in torch's wrapper module, so state-dict keys (and with them fingerprints and
checkpoints) stay exactly as they were. Text towers are left eager: a run embeds a few hundred
prompts at varying padded lengths, and each new shape would cost a compile that exceeds the
time it saves. Only audio batches of a fixed size repeat thousands of times (the last, shorter
batch compiles once more; ``dynamic=False`` keeps every graph specialised and fastest).

Compiled embeddings are cached apart from eager ones (:func:`zsbench.evaluation.cache.cache_name`), as bf16's are.
"""

from __future__ import annotations

import os
from typing import Any, Callable

# The torch.compile backend. Tests set it to "aot_eager" (traces the same graph but skips code
# generation, seconds instead of a C++ build); runs use inductor. The backend is part of the
# cache identity, so the two never share embeddings.
BACKEND_ENV = "ZSBENCH_COMPILE_BACKEND"
DEFAULT_BACKEND = "inductor"
HOOK = "compile_towers"
_MARK = "_zsbench_compiled"  # set on a compiled adapter: {"backend", "targets"}


class CompileUnsupported(ValueError):
    """The model offers nothing to compile; a user error, printed as one line by the CLI."""


def backend() -> str:
    return os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND


def cache_suffix(backend_name: str | None) -> str:
    """What compiling adds to a cache file's name (eager: nothing, so existing caches stay
    valid). A backend other than inductor is named in it too."""
    if backend_name is None:
        return ""
    return "-compiled" if backend_name == DEFAULT_BACKEND else f"-compiled-{backend_name}"


def compiled_with(model: Any) -> dict[str, Any] | None:
    """How ``model`` was compiled by :func:`apply_compile`, or None when it runs eager."""
    return getattr(model, _MARK, None)


def apply_compile(model: Any, name: str | None = None, backend_name: str | None = None) -> dict[str, Any]:
    """Compile ``model``'s towers in place (once: a compiled model is returned as it is, so a
    sweep that reuses one loaded model compiles it once). Returns what the run record keeps."""
    backend_name = backend_name or backend()
    name = name or getattr(getattr(model, "meta", None), "name", type(model).__name__)
    done = compiled_with(model)
    if done is not None:
        if done["backend"] != backend_name:
            raise ValueError(f"model {name!r} is already compiled with backend {done['backend']!r}, not "
                             f"{backend_name!r}; load it again to compile it another way")
        return done
    hook = getattr(model, HOOK, None)
    if hook is None:
        raise CompileUnsupported(f"model {name!r} has no torch modules to compile (its adapter offers no "
                                 f"{HOOK} hook); run without --compile")
    import torch

    def compile_fn(fn: Callable) -> Callable:
        return torch.compile(fn, backend=backend_name, dynamic=False)

    targets = list(hook(compile_fn))
    if not targets:
        raise CompileUnsupported(f"model {name!r} has no torch modules to compile; run without --compile")
    info = {"backend": backend_name, "targets": targets}
    setattr(model, _MARK, info)
    return info
