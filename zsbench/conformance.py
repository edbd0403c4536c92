"""HEAR-style conformance check for an adapter: run it on generated audio and texts and verify the
contract of ``AudioTextModel`` (adapters/base.py).

:func:`run_checks` runs every check and returns one :class:`CheckResult` each (``zsbench
check-model`` prints them as a table); :func:`validate` raises :class:`ConformanceError` on the
first failure. Every registered adapter is validated on seeded random weights in the tests
(tests/test_conformance.py); a third-party adapter can be checked before its numbers are trusted
(``zsbench check-model package.module:Class``, or ``validate(MyAdapter(LoadOptions()))``).

The audio is generated here with NumPy (white noise, silence, tones, a chirp, clicks), never read
from files, so the check runs anywhere. Speed is measured and reported, never asserted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from zsbench.adapters.base import AudioTextModel, LoadOptions, ModelMeta
from zsbench.data.audio import crop_offsets, fill_short

# Tolerances: the same input twice must agree to float noise; batch composition may change the
# summation order of batched kernels, so it gets a little more room.
SAME_ATOL = 1e-5
BATCH_ATOL = 1e-4
NORM_ATOL = 1e-4
DIFFERENT_ATOL = 1e-3

TEXTS = ("a dog barks", "rain falling steadily on a tin roof while thunder rumbles far away in the hills",
         "bells", "a crowd of people applauding loudly after a long concert in a large hall",
         "a car engine starts")


class ConformanceError(AssertionError):
    pass


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``value`` is what was measured (a norm, a difference, a speed);
    ``informational`` results (speed) are reported and never fail."""

    name: str
    passed: bool
    reason: str = ""
    value: str = ""
    informational: bool = False


class _Failed(Exception):
    """A check's failure inside its function: the reason, and what was measured."""

    def __init__(self, reason: str, value: str = ""):
        super().__init__(reason)
        self.reason, self.value = reason, value


def _require(cond: bool, reason: str, value: str = "") -> None:
    if not cond:
        raise _Failed(reason, value)


# --- generated inputs -------------------------------------------------------------------------

def generated_clips(n_clips: int, samples: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """``n_clips`` distinct clips of ``samples`` float32 samples: white noise, silence, then tones,
    a chirp, clicks and more noise, so a batch mixes very different inputs."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples, dtype=np.float64) / sample_rate
    makers: list[Callable[[], np.ndarray]] = [
        lambda: rng.uniform(-0.1, 0.1, samples),
        lambda: np.zeros(samples),
        lambda: 0.3 * np.sin(2 * np.pi * 440.0 * t),
        lambda: 0.3 * np.sin(2 * np.pi * (100.0 + 1500.0 * t / max(t[-1], 1e-9)) * t),
        lambda: np.where(np.arange(samples) % max(sample_rate // 4, 1) < 40, 0.8, 0.0),
        lambda: 0.2 * np.sin(2 * np.pi * 3.0 * t) * rng.standard_normal(samples),
        lambda: 0.2 * np.sin(2 * np.pi * 1234.5 * t) + 0.05 * rng.standard_normal(samples),
    ]
    clips = [makers[i]() if i < len(makers) else rng.uniform(-0.3, 0.3, samples) for i in range(n_clips)]
    return np.stack(clips).astype(np.float32)


def fit_clip(clip: np.ndarray, meta: ModelMeta, crop: str, seed: int) -> np.ndarray | list[np.ndarray]:
    """What the harness hands the adapter for a clip of any length (zsbench.data.audio.prepare_clip
    after decoding): a short clip filled by ``meta.clip.short``, a long one cropped by the run's
    ``crop`` into (windows, samples), or, for ``fusion`` models, passed whole (a list of one)."""
    policy, n = meta.clip, meta.clip.samples(meta.sample_rate)
    if len(clip) <= n:
        return fill_short(clip, n, policy.short)[None, :].astype(np.float32)
    if policy.long == "fusion":
        return [clip.astype(np.float32)]
    offsets = crop_offsets(len(clip), n, crop, "conformance", seed, policy.max_chunks, to_end=policy.crop_to_end)
    return np.stack([clip[o:o + n] for o in offsets]).astype(np.float32)


# --- checks on embeddings ---------------------------------------------------------------------

def _embeddings(x: Any, n: int, dim: int, what: str) -> np.ndarray:
    """``x`` if it is an (n, dim) float32 numpy array, else a failure saying what it is."""
    _require(isinstance(x, np.ndarray), f"{what} must return a numpy array, got {type(x).__name__}")
    _require(x.dtype == np.float32, f"{what} must return float32, got {x.dtype}", str(x.dtype))
    _require(x.shape == (n, dim), f"{what} returned shape {x.shape}, expected {(n, dim)} (meta.embed_dim={dim})",
             str(x.shape))
    return x


def _finite(x: np.ndarray, what: str, names: Sequence[str] = ()) -> None:
    bad = ~np.isfinite(x).all(axis=-1)
    which = ", ".join(names[i] for i in np.flatnonzero(bad)) if len(names) == len(x) else ""
    _require(not bad.any(), f"{what} returned NaN or Inf{f' (for {which})' if which else ''}",
             f"{int(bad.sum())} of {len(x)} non-finite")


def _unit_norm(x: np.ndarray, what: str) -> str:
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    off = float(np.abs(norms - 1.0).max())
    _require(off <= NORM_ATOL, f"{what} must be L2-normalised; norms {norms.round(4)}", f"max |norm-1| {off:.2g}")
    return f"max |norm-1| {off:.2g}"


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


# --- the checks -------------------------------------------------------------------------------

@dataclass
class _Context:
    """The model and its inputs, shared by the checks (a check may store what later ones reuse)."""

    model: AudioTextModel
    batch: int
    seed: int
    crop: str
    clips: np.ndarray
    names: list[str]

    @property
    def meta(self) -> ModelMeta:
        return self.model.meta

    def seeds(self, n: int) -> list[int] | None:
        return None if self.crop == "random" else list(range(n))

    def audio(self, windows: np.ndarray | list[np.ndarray], what: str = "embed_audio") -> np.ndarray:
        emb = self.model.embed_audio(windows, seeds=self.seeds(len(windows)))
        return _embeddings(emb, len(windows), self.meta.embed_dim, what)

    def text(self, texts: Sequence[str], what: str = "embed_text") -> np.ndarray:
        return _embeddings(self.model.embed_text(list(texts)), len(texts), self.meta.embed_dim, what)


def check_protocol(ctx: _Context) -> str:
    """The adapter implements AudioTextModel, declares a ModelMeta and a stable fingerprint."""
    _require(isinstance(ctx.model, AudioTextModel), "the adapter does not implement AudioTextModel "
             "(meta, fingerprint, embed_audio, embed_text)")
    _require(isinstance(ctx.meta, ModelMeta), f"meta must be a ModelMeta, got {type(ctx.meta).__name__}")
    fp = ctx.model.fingerprint()
    _require(isinstance(fp, str) and len(fp) >= 8 and fp == ctx.model.fingerprint(),
             "fingerprint() must return the same string of 8 or more characters every time", repr(fp))
    return f"fingerprint {fp}"


def check_audio_shape(ctx: _Context) -> str:
    emb = ctx.audio(ctx.clips)
    return f"{emb.shape} {emb.dtype}"


def check_audio_finite(ctx: _Context) -> str:
    _finite(ctx.audio(ctx.clips), "embed_audio", ctx.names)
    return f"{len(ctx.clips)} clips incl. silence"


def check_audio_norm(ctx: _Context) -> str:
    return _unit_norm(ctx.audio(ctx.clips), "embed_audio")


def check_audio_deterministic(ctx: _Context) -> str:
    diff = _max_diff(ctx.audio(ctx.clips), ctx.audio(ctx.clips))
    _require(diff <= SAME_ATOL, "embed_audio is not deterministic for the same input and seeds",
             f"max diff {diff:.2g}")
    return f"max diff {diff:.2g}"


def check_audio_batch(ctx: _Context) -> str:
    together = ctx.audio(ctx.clips)
    diff = max(_max_diff(ctx.audio(ctx.clips[i:i + 1])[0], together[i]) for i in (0, len(ctx.clips) - 1))
    _require(diff <= BATCH_ATOL, f"an embedding depends on the rest of its batch (a clip alone vs in a batch of "
             f"{len(ctx.clips)})", f"max diff {diff:.2g}")
    return f"max diff {diff:.2g}"


def _check_fitted(ctx: _Context, clip: np.ndarray, what: str) -> str:
    """A clip the harness filled or cropped (``fit_clip``): finite, unit norm, and the same twice
    where the crop is deterministic (every crop but ``random``)."""
    windows = fit_clip(clip, ctx.meta, ctx.crop, ctx.seed)
    first = ctx.audio(windows, f"embed_audio ({what})")
    _finite(first, f"embed_audio ({what})")
    norm = _unit_norm(first, f"embed_audio ({what})")
    if ctx.crop == "random":
        return f"{norm}; crop random: not compared"
    diff = _max_diff(first, ctx.audio(windows, f"embed_audio ({what})"))
    _require(diff <= SAME_ATOL, f"embed_audio ({what}) gives another embedding the second time "
             f"(crop {ctx.crop} is deterministic)", f"max diff {diff:.2g}")
    return f"{norm}; max diff {diff:.2g}"


def check_short_clip(ctx: _Context) -> str:
    n = ctx.meta.clip.samples(ctx.meta.sample_rate)
    clip = generated_clips(3, max(n // 3, 1), ctx.meta.sample_rate, ctx.seed + 1)[2]  # a tone, a third of the window
    return f"fill {ctx.meta.clip.short}; " + _check_fitted(ctx, clip, "short clip")


def check_long_clip(ctx: _Context) -> str:
    n = ctx.meta.clip.samples(ctx.meta.sample_rate)
    clip = generated_clips(4, n + n // 2 + 1, ctx.meta.sample_rate, ctx.seed + 2)[3]  # a chirp, 1.5 windows
    how = "fusion (whole clip)" if ctx.meta.clip.long == "fusion" else f"crop {ctx.crop}"
    return f"{how}; " + _check_fitted(ctx, clip, "long clip")


def check_text_shape(ctx: _Context) -> str:
    emb = ctx.text(TEXTS)
    return f"{emb.shape} {emb.dtype}"


def check_text_finite(ctx: _Context) -> str:
    _finite(ctx.text(TEXTS), "embed_text", TEXTS)
    return f"{len(TEXTS)} prompts"


def check_text_norm(ctx: _Context) -> str:
    return _unit_norm(ctx.text(TEXTS), "embed_text")


def check_text_deterministic(ctx: _Context) -> str:
    emb = ctx.text([TEXTS[0], TEXTS[1], TEXTS[0]])
    diff = max(_max_diff(emb[0], emb[2]), _max_diff(emb, ctx.text([TEXTS[0], TEXTS[1], TEXTS[0]])))
    _require(diff <= SAME_ATOL, "embed_text is not deterministic (the same prompt twice differs)",
             f"max diff {diff:.2g}")
    return f"max diff {diff:.2g}"


def check_text_batch(ctx: _Context) -> str:
    together = ctx.text(TEXTS)
    diff = max(_max_diff(ctx.text([TEXTS[i]])[0], together[i]) for i in (0, 1))
    _require(diff <= BATCH_ATOL, "a prompt's embedding depends on the rest of its batch (alone vs among "
             "prompts of other lengths: padding leaking into pooling?)", f"max diff {diff:.2g}")
    return f"max diff {diff:.2g}"


def check_text_distinct(ctx: _Context) -> str:
    emb = ctx.text(TEXTS[:2])
    diff = _max_diff(emb[0], emb[1])
    _require(diff > DIFFERENT_ATOL, "embed_text gives the same embedding to different texts",
             f"max diff {diff:.2g}")
    return f"max diff {diff:.2g}"


def _rate(fn: Callable[[], Any], count: int, unit: str) -> str:
    start = time.perf_counter()
    fn()
    seconds = max(time.perf_counter() - start, 1e-9)
    return f"{count / seconds:.1f} {unit}/s"


def check_audio_speed(ctx: _Context) -> str:
    return _rate(lambda: ctx.audio(ctx.clips), len(ctx.clips), "clips")


def check_text_speed(ctx: _Context) -> str:
    prompts = [f"{t} {i}" for i in range(4) for t in TEXTS]
    return _rate(lambda: ctx.text(prompts), len(prompts), "prompts")


# (name, function, informational): in this order; the protocol check first, as the rest use meta.
CHECKS: tuple[tuple[str, Callable[[_Context], str], bool], ...] = (
    ("protocol and fingerprint", check_protocol, False),
    ("audio: shape and dtype", check_audio_shape, False),
    ("audio: finite (noise, silence, tones)", check_audio_finite, False),
    ("audio: unit norm", check_audio_norm, False),
    ("audio: deterministic", check_audio_deterministic, False),
    ("audio: batch invariance", check_audio_batch, False),
    ("audio: short clip", check_short_clip, False),
    ("audio: long clip", check_long_clip, False),
    ("text: shape and dtype", check_text_shape, False),
    ("text: finite", check_text_finite, False),
    ("text: unit norm", check_text_norm, False),
    ("text: deterministic", check_text_deterministic, False),
    ("text: batch invariance", check_text_batch, False),
    ("text: different texts differ", check_text_distinct, False),
    ("speed: audio", check_audio_speed, True),
    ("speed: text", check_text_speed, True),
)
CLIP_NAMES = ("white noise", "silence", "440 Hz tone", "chirp", "clicks", "modulated noise", "tone + noise")


def _run_one(name: str, fn: Callable[[_Context], str], informational: bool, ctx: _Context) -> CheckResult:
    """One check; an exception from the adapter is that check's failure, so the others still run."""
    try:
        return CheckResult(name, True, value=fn(ctx), informational=informational)
    except _Failed as failed:
        return CheckResult(name, False, failed.reason, failed.value, informational)
    except Exception as exc:  # the adapter's own error: report it, keep checking
        return CheckResult(name, False, f"raised {type(exc).__name__}: {exc}", informational=informational)


def iter_checks(model: AudioTextModel, batch: int = 8, seed: int = 0, crop: str = "seeded",
                speed: bool = True) -> Iterator[CheckResult]:
    """Each check's result in turn (see ``CHECKS``); the protocol check failing stops the rest,
    which need ``meta``. ``batch``: clips in the audio batch; ``crop``: the run's long-clip crop."""
    first = _run_one(*CHECKS[0], _Context(model, batch, seed, crop, np.zeros((0, 0), np.float32), []))
    yield first
    if not first.passed:
        return
    meta = model.meta
    clips = generated_clips(batch, meta.clip.samples(meta.sample_rate), meta.sample_rate, seed)
    names = [CLIP_NAMES[i] if i < len(CLIP_NAMES) else f"noise {i}" for i in range(batch)]
    ctx = _Context(model, batch, seed, crop, clips, names)
    for name, fn, informational in CHECKS[1:]:
        if informational and not speed:
            continue
        yield _run_one(name, fn, informational, ctx)


def run_checks(model: AudioTextModel, batch: int = 8, seed: int = 0, crop: str = "seeded",
               speed: bool = True) -> list[CheckResult]:
    """Every check's result (the speed ones too when ``speed``), failures included."""
    return list(iter_checks(model, batch, seed, crop, speed))


def failures(results: Sequence[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed and not r.informational]


def validate(model: AudioTextModel, batch: int = 2, seed: int = 0) -> None:
    """Raise ConformanceError with the reason of the first failing check (no speed checks)."""
    for result in iter_checks(model, batch, seed, speed=False):
        if not result.passed:
            raise ConformanceError(f"{result.name}: {result.reason}")


def load_model(name: str, options: LoadOptions) -> AudioTextModel:
    """The adapter ``name`` (registered, or ``package.module:Class``) loaded with ``options``,
    the same way ``zsbench run`` loads it."""
    from zsbench.registry import MODELS

    return MODELS.get(name)(options)


def results_table(results: Sequence[CheckResult]):
    """A rich Table: check, PASS/FAIL (``info`` for speed), the measured value, why it failed."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("check", "result", "measured", "reason"):
        table.add_column(column, no_wrap=column in ("check", "result"))
    for r in results:
        status = "[cyan]info[/]" if r.informational and r.passed else "[green]PASS[/]" if r.passed else "[red]FAIL[/]"
        table.add_row(escape(r.name), status, escape(r.value), escape(r.reason))
    return table
