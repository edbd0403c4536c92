"""Rendering: one clip of a class, mixed into its scene and captioned; whole splits with stable ids.

Pure numpy and deterministic: a clip depends only on (label, seed, duration, sample rate),
never on the process (Python's ``hash`` is salted per process, so seeds are derived from
``zlib.crc32`` through ``np.random.SeedSequence``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from zsbench.synthworld.classes import CLASSES, RECIPES
from zsbench.synthworld.descriptors import measure, phrases
from zsbench.synthworld.scenes import ambience, draw_scene, reverberate
from zsbench.synthworld.text import _write_text

SAMPLE_RATE = 22050  # deliberately not a model rate, so the harness's resampler is exercised

MIN_DURATION = 1.5   # drawn durations straddle the usual 5-10 s model window on both sides
MAX_DURATION = 12.0
N_REWRITES = 4
_VERSION = "synthworld-v2"  # mixed into every seed: bump it when recipes change meaning (v2: scenes)
# Event-to-scene ratio (dB) per scene: ambiences sit clearly under the event, the quiet one far under.
SNR_DB = {"street": (3.0, 20.0), "room": (15.0, 35.0), "forest": (3.0, 20.0), "rain": (3.0, 20.0),
          "crowd": (3.0, 20.0), "quiet": (30.0, 45.0)}


@dataclass(frozen=True, eq=False)  # eq=False: comparing ndarrays field-wise is ambiguous
class Clip:
    """A rendered clip with the text that describes what was rendered."""

    label: str
    audio: np.ndarray          # float32 mono, finite, 0 < peak <= 1
    caption: str               # canonical description built from the drawn parameters
    rewrites: tuple[str, ...]  # N_REWRITES paraphrases of the caption (stand-in for LLM rewrites)
    params: dict               # the drawn parameters, JSON-safe, for debugging


def _crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def _seed_words(seed: int) -> list[int]:
    s = int(seed) % (1 << 64)  # SeedSequence rejects negatives; fold them into the same range
    return [s & 0xFFFFFFFF, s >> 32]


def _check_label(label: str) -> None:
    if label not in RECIPES:
        raise ValueError(f"unknown synthworld label {label!r}; valid labels: "
                         + ", ".join(c.name for c in CLASSES))


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    return str(value)


def render(label: str, seed: int, duration: float | None = None, sample_rate: int = SAMPLE_RATE) -> Clip:
    """Synthesise one clip of ``label``; a pure function of its arguments.

    Independent random streams drive the duration, the mix (scene, loudness, event-to-scene
    ratio), the recipe's parameters, sample-level noise, the scene's audio and the wording, so fixing ``duration`` or changing the sample
    rate keeps the same pitch, rate and caption vocabulary for a given seed.
    """
    _check_label(label)
    if sample_rate < 2000:
        raise ValueError(f"sample_rate must be at least 2000 Hz, got {sample_rate}")
    ss = np.random.SeedSequence([_crc(_VERSION), _crc(label), *_seed_words(seed)])
    dur_rng, mix_rng, param_rng, noise_rng, text_rng, scene_rng = (np.random.default_rng(s) for s in ss.spawn(6))
    drawn = round(float(dur_rng.uniform(MIN_DURATION, MAX_DURATION)), 3)
    duration = drawn if duration is None else float(duration)
    n = int(round(duration * sample_rate))
    if not np.isfinite(duration) or n < 1:
        raise ValueError(f"duration must be positive and finite, got {duration}")

    scene = draw_scene(mix_rng, label)
    snr_db = float(mix_rng.uniform(*SNR_DB[scene.name]))
    peak_db = float(mix_rng.uniform(-18.0, -0.5))
    rt60, wet = float(mix_rng.uniform(0.3, 1.2)), float(mix_rng.uniform(2.0, 6.0))

    sound = RECIPES[label](param_rng, noise_rng, n, sample_rate)
    fg = np.asarray(sound.audio, dtype=np.float32)
    if scene.reverb:
        fg = reverberate(fg, scene_rng, sample_rate, rt60, wet)
    fg = fg.astype(np.float64)
    rms = float(np.sqrt(np.mean(fg ** 2)))
    fg = fg / rms if rms > 0 else fg
    bg = ambience(scene, scene_rng, n, sample_rate).astype(np.float64)
    mix = fg + bg * 10.0 ** (-snr_db / 20.0)
    peak = float(np.max(np.abs(mix)))
    audio = (mix * (10.0 ** (peak_db / 20.0) / peak)).astype(np.float32)
    audio = np.clip(audio, -1.0, 1.0)

    loud = "soft" if peak_db < -12.0 else ("loud" if peak_db > -5.0 else None)
    props = measure(sound.audio, sample_rate)
    caption, rewrites = _write_text(sound.text, loud, scene.phrases, text_rng, phrases(props))

    params = {"label": label, "seed": int(seed), "duration_s": duration, "sample_rate": int(sample_rate),
              "snr_db": snr_db, "scene": scene.name, **({"rt60_s": rt60, "wet": wet} if scene.reverb else {}),
              "peak_db": peak_db, "loudness": loud or "moderate", "properties": props, **sound.params}
    return Clip(label=label, audio=audio, caption=caption, rewrites=rewrites, params=_jsonable(params))


def clip_seed(seed: int, split: str, label: str, index: int) -> int:
    """The render seed of clip ``index`` of ``label`` in ``split``: the split is part of the seed,
    so "train" and "test" never share a clip."""
    ss = np.random.SeedSequence([_crc(_VERSION), *_seed_words(seed), _crc(split), _crc(label), int(index)])
    lo, hi = ss.generate_state(2, dtype=np.uint32)
    return int(lo) | (int(hi) << 32)


def slug(label: str) -> str:
    """Label as it appears in clip ids: no spaces, so ids stay single tokens in paths and logs."""
    return "-".join(label.lower().split())


def generate(n_per_class: int, seed: int, split: str = "test") -> Iterator[tuple[str, Clip]]:
    """All classes, ``n_per_class`` clips each, in class order then index, with stable ids."""
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be >= 0, got {n_per_class}")
    for cls in CLASSES:
        for i in range(n_per_class):
            yield f"{split}-{slug(cls.name)}-{i:04d}", render(cls.name, clip_seed(seed, split, cls.name, i))
